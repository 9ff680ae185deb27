import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import type { Run } from "../../api/types";
import { computeRunDiff, visibleDiffRows } from "./diff";

function run(
  id: string,
  params: Record<string, string>,
  tags: Record<string, string>,
  metrics: Record<string, number>,
): Run {
  const summaries: Run["metrics"] = {};
  for (const [k, value] of Object.entries(metrics)) {
    summaries[k] = { value, step: 0, timestamp: 0, min: value, max: value, count: 1 };
  }
  return makeRun(id, { params, tags, metrics: summaries });
}

describe("run diff", () => {
  const a = run("a", { lr: "0.1", bs: "32" }, { team: "x", "mlflow.note.content": "hi" }, {
    acc: 0.9,
    loss: Number.NaN,
  });
  const b = run("b", { lr: "0.2", bs: "32", extra: "1" }, { team: "x" }, {
    acc: 0.9,
    loss: Number.NaN,
  });

  it("lists params, tags and latest metrics with each run's value", () => {
    const rows = computeRunDiff([a, b]);
    expect(rows.map((r) => `${r.section}.${r.key}`)).toEqual([
      "params.bs",
      "params.extra",
      "params.lr",
      "tags.team",
      "metrics.acc",
      "metrics.loss",
    ]);
    expect(rows.find((r) => r.key === "lr")?.values).toEqual(["0.1", "0.2"]);
    expect(rows.find((r) => r.key === "extra")?.values).toEqual([null, "1"]);
  });

  it("marks rows that differ, counting a missing key as different and NaN as equal to NaN", () => {
    const differs = Object.fromEntries(computeRunDiff([a, b]).map((r) => [r.key, r.differs]));
    expect(differs).toEqual({
      bs: false,
      extra: true,
      lr: true,
      team: false,
      acc: false,
      loss: false,
    });
  });

  it("keeps only the differing rows when asked", () => {
    const rows = computeRunDiff([a, b]);
    expect(visibleDiffRows(rows, true).map((r) => r.key)).toEqual(["extra", "lr"]);
    expect(visibleDiffRows(rows, false)).toHaveLength(rows.length);
  });

  it("finds no difference within a single run", () => {
    expect(computeRunDiff([a]).every((r) => !r.differs)).toBe(true);
  });
});
