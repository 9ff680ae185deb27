import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import { scatterColumns, scatterPoints } from "./scatter";

const acc = (value: number) => ({ acc: { value, step: 0, timestamp: 0, min: value, max: value, count: 1 } });

describe("scatter", () => {
  const runs = [
    makeRun("a", { params: { lr: "0.1", opt: "adam" }, metrics: acc(0.9) }),
    makeRun("b", { params: { lr: "0.01", opt: "sgd" }, metrics: acc(NaN) }),
    makeRun("c", { params: { opt: "sgd" }, metrics: acc(0.5) }),
  ];

  it("offers numeric params and metrics", () => {
    expect(scatterColumns(runs)).toEqual([
      { kind: "params", key: "lr" },
      { kind: "metrics", key: "acc" },
    ]);
  });

  it("has a point for each run with two finite values", () => {
    const points = scatterPoints(runs, { kind: "params", key: "lr" }, { kind: "metrics", key: "acc" });
    expect(points.map((p) => [p.run.id, p.x, p.y])).toEqual([["a", 0.1, 0.9]]);
  });
});
