import { describe, expect, it } from "vitest";
import { columnId } from "../../state/identifiers";
import {
  arrange,
  exportColumns,
  moveColumn,
  parseColumnLayout,
  pinOffsets,
  setPrefixShown,
  writeColumnLayout,
} from "./columnState";

const keys = { metrics: ["acc", "loss"], params: ["lr"], tags: ["team"] };

describe("column layout in the URL", () => {
  it("round-trips hidden and pinned columns, keys with commas included", () => {
    const layout = { hidden: ["duration", "attributes.user"], pinned: ["metrics.a,b", "params.lr"] };
    const out = writeColumnLayout(new URLSearchParams("filter=x"), layout);
    expect(out.get("filter")).toBe("x");
    expect(parseColumnLayout(new URLSearchParams(out.toString()))).toEqual(layout);
  });

  it("drops unknown hidden columns, empty values and repeats", () => {
    const parsed = parseColumnLayout(
      new URLSearchParams("hide=attributes.run_name&hide=duration&hide=duration&pin=&pin=params.lr"),
    );
    expect(parsed).toEqual({ hidden: ["duration"], pinned: ["params.lr"] });
  });
});

describe("choosing columns", () => {
  it("shows and hides a whole prefix, keeping the others in order", () => {
    const chosen = [{ kind: "params" as const, key: "lr" }, { kind: "metrics" as const, key: "loss" }];
    const all = setPrefixShown(chosen, keys, "metrics", true);
    expect(all.map(columnId)).toEqual(["params.lr", "metrics.loss", "metrics.acc"]);
    expect(setPrefixShown(all, keys, "metrics", false).map(columnId)).toEqual(["params.lr"]);
  });

  it("moves a column by one place and stops at the ends", () => {
    const chosen = setPrefixShown([], keys, "metrics", true).concat({ kind: "params", key: "lr" });
    expect(moveColumn(chosen, "params.lr", -1).map(columnId)).toEqual(["metrics.acc", "params.lr", "metrics.loss"]);
    expect(moveColumn(chosen, "metrics.acc", -1).map(columnId)).toEqual(chosen.map(columnId));
    expect(moveColumn(chosen, "metrics.acc", 5).map(columnId)).toEqual(["metrics.loss", "params.lr", "metrics.acc"]);
  });

  it("puts pinned columns first, in pin order, and ignores pins of absent columns", () => {
    const ids = ["attributes.run_name", "attributes.status", "metrics.acc", "params.lr"];
    expect(arrange(ids, ["params.lr", "gone.x", "attributes.status"])).toEqual([
      "params.lr",
      "attributes.status",
      "attributes.run_name",
      "metrics.acc",
    ]);
  });

  it("offsets pinned columns by the widths to their left", () => {
    const ordered = [
      { id: "params.lr", width: 120 },
      { id: "attributes.status", width: 100 },
      { id: "attributes.run_name", width: 260 },
    ];
    const offsets = pinOffsets(ordered, ["params.lr", "attributes.status"], 40);
    expect([...offsets]).toEqual([
      ["params.lr", 40],
      ["attributes.status", 160],
    ]);
  });

  it("names the export's columns after the visible ones", () => {
    expect(exportColumns(["attributes.run_name", "duration", "metrics.val loss", "params.lr"])).toEqual([
      "id",
      "name",
      "start_time",
      "end_time",
      "metrics.val loss",
      "params.lr",
    ]);
  });
});
