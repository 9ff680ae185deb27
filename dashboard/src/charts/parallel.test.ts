import { describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import { buildParallel, metricKeys, variedParams } from "./parallel";

function run(id: string, params: Record<string, string>, acc?: number): Run {
  return {
    id,
    experiment_id: 1,
    name: id,
    status: "FINISHED",
    start_time: 0,
    end_time: 1,
    user: "",
    lifecycle_stage: "active",
    params,
    tags: {},
    metrics:
      acc === undefined
        ? {}
        : { acc: { value: acc, step: 1, timestamp: 1, min: acc, max: acc, count: 1 } },
  };
}

describe("parallel coordinates data", () => {
  const runs = [
    run("a", { lr: "0.1", opt: "adam", seed: "1" }, 0.5),
    run("b", { lr: "0.01", opt: "sgd", seed: "1" }, 0.9),
    run("c", { lr: "0.001", seed: "1" }, Number.NaN),
  ];

  it("offers the params that vary, missing counting as a value", () => {
    expect(variedParams(runs)).toEqual(["lr", "opt"]);
    expect(metricKeys(runs)).toEqual(["acc"]);
  });

  it("scales numeric params to [0, 1], in log when they span decades", () => {
    const data = buildParallel(runs, ["lr"], null);
    expect(data.axes[0]?.kind).toBe("numeric");
    expect(data.axes[0]?.label).toBe("lr (log)");
    const pos = data.lines.map((l) => l[0]);
    expect(pos[0]).toBeCloseTo(1);
    expect(pos[1]).toBeCloseTo(0.5);
    expect(pos[2]).toBeCloseTo(0);
  });

  it("keeps a linear axis for values close together", () => {
    const linear = [run("a", { bs: "32" }), run("b", { bs: "64" }), run("c", { bs: "128" })];
    const data = buildParallel(linear, ["bs"], null);
    expect(data.axes[0]?.label).toBe("bs");
    expect(data.lines.map((l) => l[0])).toEqual([0, 1 / 3, 1]);
  });

  it("spreads categories evenly and leaves missing values null", () => {
    const data = buildParallel(runs, ["opt"], null);
    expect(data.axes[0]?.kind).toBe("categorical");
    expect(data.axes[0]?.ticks.map((t) => t.label)).toEqual(["adam", "sgd"]);
    expect(data.lines.map((l) => l[0])).toEqual([0, 1, null]);
  });

  it("puts the metric last and colours by it; a NaN metric has no colour", () => {
    const data = buildParallel(runs, ["lr", "opt"], "acc");
    expect(data.axes.map((a) => a.label)).toEqual(["lr (log)", "opt", "acc"]);
    expect(data.color).toEqual([0, 1, null]);
  });

  it("centres an axis whose values are all equal", () => {
    const data = buildParallel(runs, ["seed"], null);
    expect(data.lines.map((l) => l[0])).toEqual([0.5, 0.5, 0.5]);
  });
});
