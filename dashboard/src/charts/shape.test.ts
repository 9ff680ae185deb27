import { describe, expect, it } from "vitest";
import type { MetricColumns } from "../api/types";
import {
  alignSeries,
  appendPoints,
  emaSmooth,
  positiveOnly,
  shapeSeries,
  stepRangeFor,
  toXY,
} from "./shape";

const cols = (steps: number[], values: number[], timestamps?: number[]): MetricColumns => ({
  key: "loss",
  steps,
  values,
  timestamps: timestamps ?? steps.map((s) => 1_700_000_000_000 + s * 1000),
});

describe("columns → uPlot data", () => {
  it("uses steps as x, or timestamps in seconds", () => {
    const c = cols([0, 1, 2], [1, 2, 3]);
    expect(toXY(c, "step")).toEqual({ x: [0, 1, 2], y: [1, 2, 3] });
    expect(toXY(c, "time").x).toEqual([1_700_000_000, 1_700_000_001, 1_700_000_002]);
  });

  it("turns NaN and infinities into null so uPlot draws a gap", () => {
    const c = cols([0, 1, 2, 3], [1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(toXY(c, "step").y).toEqual([1, null, null, null]);
  });

  it("sorts by x when timestamps are not in step order", () => {
    const c = cols([0, 1, 2], [10, 20, 30], [3000, 1000, 2000]);
    expect(toXY(c, "time")).toEqual({ x: [1, 2, 3], y: [20, 30, 10] });
  });
});

describe("EMA smoothing", () => {
  it("is off at weight 0", () => {
    expect(emaSmooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
  });

  it("is debiased, so a constant series stays constant", () => {
    const out = emaSmooth([5, 5, 5, 5], 0.9);
    for (const v of out) expect(v).toBeCloseTo(5, 10);
  });

  it("follows the TensorBoard recurrence", () => {
    const w = 0.5;
    const out = emaSmooth([0, 10], w);
    // acc1 = 0 → 0/(1-0.5) = 0; acc2 = 0*0.5 + 5 = 5 → 5/(1-0.25) = 6.667
    expect(out[0]).toBeCloseTo(0);
    expect(out[1]).toBeCloseTo(6.6667, 3);
  });

  it("keeps gaps as gaps and carries the average across them", () => {
    const out = emaSmooth([2, null, 2], 0.6);
    expect(out[1]).toBeNull();
    expect(out[2]).toBeCloseTo(2, 10);
  });
});

describe("shaping for a chart", () => {
  it("drops values a log axis cannot show", () => {
    expect(positiveOnly([1, 0, -2, null, 3])).toEqual([1, null, null, null, 3]);
    const shaped = shapeSeries(cols([0, 1], [0, 10]), { axis: "step", smoothing: 0, log: true });
    expect(shaped.y).toEqual([null, 10]);
  });
});

describe("aligning several series", () => {
  it("returns a single series unchanged", () => {
    expect(alignSeries([{ x: [1, 2], y: [3, null] }])).toEqual([
      [1, 2],
      [3, null],
    ]);
  });

  it("merges x values; missing points are undefined, gaps stay null", () => {
    const aligned = alignSeries([
      { x: [0, 2, 4], y: [1, null, 3] },
      { x: [1, 2], y: [7, 8] },
    ]);
    expect(aligned[0]).toEqual([0, 1, 2, 4]);
    expect(aligned[1]).toEqual([1, undefined, null, 3]);
    expect(aligned[2]).toEqual([undefined, 7, 8, undefined]);
  });
});

describe("live points", () => {
  it("appends in order", () => {
    const out = appendPoints(cols([0, 1], [1, 2]), [
      [2, 3, 5],
      [3, Number.NaN, 6],
    ]);
    expect(out.steps).toEqual([0, 1, 2, 3]);
    expect(Number.isNaN(out.values[3])).toBe(true);
  });

  it("re-sorts when a point arrives out of order", () => {
    const out = appendPoints(cols([0, 5], [1, 2]), [[3, 9, 1]]);
    expect(out.steps).toEqual([0, 3, 5]);
    expect(out.values).toEqual([1, 9, 2]);
  });

  it("leaves the history untouched when nothing arrives", () => {
    const c = cols([0], [1]);
    expect(appendPoints(c, [])).toBe(c);
  });
});

describe("zoom to a step range", () => {
  it("rounds inwards on the step axis", () => {
    expect(stepRangeFor(cols([0], [0]), "step", 1.2, 9.8)).toEqual([2, 9]);
    expect(stepRangeFor(cols([0], [0]), "step", 1.2, 1.8)).toBeNull();
  });

  it("maps a time range to the steps logged in it", () => {
    const c = cols([10, 20, 30, 40], [1, 2, 3, 4]);
    const t0 = 1_700_000_000 + 15;
    expect(stepRangeFor(c, "time", t0, t0 + 20)).toEqual([20, 30]);
  });
});
