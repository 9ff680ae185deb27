import { describe, expect, it } from "vitest";
import { nextSort, orderByClause, parseColumnId, searchIdentifier } from "./identifiers";

describe("search identifiers", () => {
  it("backquotes keys that are not bare words", () => {
    expect(searchIdentifier({ kind: "metrics", key: "acc" })).toBe("metrics.acc");
    expect(searchIdentifier({ kind: "metrics", key: "val loss" })).toBe("metrics.`val loss`");
    expect(searchIdentifier({ kind: "params", key: "opt.lr" })).toBe("params.`opt.lr`");
    expect(searchIdentifier({ kind: "metrics", key: "train/loss" })).toBe("metrics.`train/loss`");
  });

  it("splits a column id at its first dot", () => {
    expect(parseColumnId("metrics.val.loss")).toEqual({ kind: "metrics", key: "val.loss" });
    expect(parseColumnId("attributes.start_time")).toEqual({
      kind: "attributes",
      key: "start_time",
    });
    expect(parseColumnId("metrics.")).toBeNull();
    expect(parseColumnId("nokind")).toBeNull();
  });

  it("maps a sort to order_by", () => {
    expect(orderByClause(null)).toBeUndefined();
    expect(orderByClause({ column: { kind: "metrics", key: "val loss" }, desc: true })).toEqual([
      "metrics.`val loss` DESC",
    ]);
  });

  it("cycles a header through ascending, descending and unsorted", () => {
    const col = { kind: "metrics" as const, key: "acc" };
    const other = { kind: "params" as const, key: "lr" };
    const asc = nextSort(null, col);
    expect(asc).toEqual({ column: col, desc: false });
    const desc = nextSort(asc, col);
    expect(desc).toEqual({ column: col, desc: true });
    expect(nextSort(desc, col)).toBeNull();
    expect(nextSort(desc, other)).toEqual({ column: other, desc: false });
  });
});
