import { describe, expect, it } from "vitest";
import type { GroupBand } from "../../api/compare";
import { bandOf } from "../analysis/grouping";
import { compareQuery } from "./CompareChart";
import { bandLines, bandStepRange } from "./serverBands";

const group: GroupBand = {
  name: "adam",
  run_count: 2,
  x: [0, 1, 2],
  count: [2, 2, 0],
  mean: [1, 2, null],
  min: [0, 1, null],
  max: [2, 3, null],
  std: [1, 1, null],
  steps: [0, 10, 20],
};

describe("bandLines", () => {
  it("draws min–max edges as the server sent them", () => {
    const lines = bandLines(group, "minmax");
    expect(lines.mean.y).toEqual([1, 2, null]);
    expect(lines.upper.y).toEqual([2, 3, null]);
    expect(lines.lower.y).toEqual([0, 1, null]);
  });

  it("draws ±1 std around the mean, with gaps where no run has a value", () => {
    const lines = bandLines(group, "std");
    expect(lines.upper.y).toEqual([2, 3, null]);
    expect(lines.lower.y).toEqual([0, 1, null]);
  });

  it("agrees with the page's own band of the same runs on a shared grid", () => {
    const a = { x: [0, 1, 2], y: [1, 2, 3] };
    const b = { x: [0, 1, 2], y: [3, 6, 9] };
    const local = bandOf([a, b], "std");
    const server: GroupBand = {
      name: "g",
      run_count: 2,
      x: [0, 1, 2],
      count: [2, 2, 2],
      mean: [2, 4, 6],
      min: [1, 2, 3],
      max: [3, 6, 9],
      std: [1, 2, 3],
      steps: [0, 1, 2],
    };
    const lines = bandLines(server, "std");
    expect(lines.mean.y).toEqual(local.mean);
    expect(lines.upper.y).toEqual(local.upper);
    expect(lines.lower.y).toEqual(local.lower);
  });
});

describe("bandStepRange", () => {
  it("maps an x range to the steps behind it", () => {
    expect(bandStepRange([group], 0.5, 2)).toEqual([10, 20]);
    expect(bandStepRange([group], 5, 6)).toBeNull();
  });
});

describe("compareQuery", () => {
  const view = { x: "step" as const, smoothing: 0.5, log: true, zoom: [10, 20] as [number, number] };

  it("asks for lines, raw, when the runs are not grouped", () => {
    const q = compareQuery(["r1", "r2"], "loss", view, null, "step");
    expect(q).toMatchObject({ run_ids: ["r1", "r2"], key: "loss", groups: null, smoothing: 0, log: false });
    expect(q).toMatchObject({ start_step: 10, end_step: 20 });
  });

  it("asks for the page's groups, smoothed on the server", () => {
    const grouping = { label: "opt", band: "std" as const, groups: [{ name: "adam", runIds: ["r1"] }] };
    const q = compareQuery(["r1", "r2"], "loss", { ...view, zoom: null }, grouping, "relative");
    expect(q.groups).toEqual([{ name: "adam", run_ids: ["r1"] }]);
    expect(q).toMatchObject({ x: "relative", smoothing: 0.5, log: true });
    expect(q).not.toHaveProperty("start_step");
  });
});
