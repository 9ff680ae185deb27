import { describe, expect, it } from "vitest";
import { stepRangeFor, toXY } from "./shape";
import { joinOnStep, parseXAxis, xAxisLabel, xMetricKey, xValues } from "./xAxis";

const cols = (steps: number[], values: number[], timestamps: number[], key = "loss") => ({
  key,
  steps,
  values,
  timestamps,
});

describe("parseXAxis", () => {
  it("reads the four kinds and falls back to the step", () => {
    expect(parseXAxis("time")).toBe("time");
    expect(parseXAxis("relative")).toBe("relative");
    expect(parseXAxis("metric:epoch")).toBe("metric:epoch");
    expect(parseXAxis("metric:")).toBe("step");
    expect(parseXAxis("wall")).toBe("step");
    expect(parseXAxis(null)).toBe("step");
    expect(xMetricKey("metric:val.epoch")).toBe("val.epoch");
    expect(xMetricKey("relative")).toBeNull();
    expect(xAxisLabel("relative")).toBe("seconds since start");
  });
});

describe("xValues", () => {
  const loss = cols([0, 1, 2], [3, 2, 1], [10_000, 12_000, 15_500]);

  it("gives steps, wall seconds, or seconds since the run's start", () => {
    expect(xValues(loss, "step")).toEqual([0, 1, 2]);
    expect(xValues(loss, "time")).toEqual([10, 12, 15.5]);
    expect(xValues(loss, "relative", { startTime: 9_000 })).toEqual([1, 3, 6.5]);
    // Without the start, the first point is the origin.
    expect(xValues(loss, "relative")).toEqual([0, 2, 5.5]);
  });

  it("joins another metric on the step", () => {
    const epoch = cols([0, 2], [0, 1], [0, 0], "epoch");
    expect(xValues(loss, "metric:epoch", { xMetric: epoch })).toEqual([0, 0, 1]);
    expect(xValues(loss, "metric:epoch")).toEqual([null, null, null]);
  });
});

describe("joinOnStep", () => {
  it("takes the last value at or before each step, none before the first", () => {
    const epoch = cols([10, 20, 30], [1, 2, NaN], [0, 0, 0], "epoch");
    expect(joinOnStep([5, 10, 15, 20, 29, 30, 40], epoch)).toEqual([null, 1, 1, 2, 2, null, null]);
  });

  it("reads unsorted steps on either side", () => {
    const epoch = cols([20, 10], [2, 1], [0, 0], "epoch");
    expect(joinOnStep([25, 12], epoch)).toEqual([2, 1]);
  });
});

describe("toXY and stepRangeFor on a metric axis", () => {
  const loss = cols([0, 1, 2, 3], [4, 3, 2, 1], [0, 0, 0, 0]);
  const epoch = cols([1, 3], [0.5, 1.5], [0, 0], "epoch");

  it("drops points without an x and zooms back to steps", () => {
    expect(toXY(loss, "metric:epoch", { xMetric: epoch })).toEqual({ x: [0.5, 0.5, 1.5], y: [3, 2, 1] });
    expect(stepRangeFor(loss, "metric:epoch", 1, 2, { xMetric: epoch })).toEqual([3, 3]);
    expect(stepRangeFor(loss, "relative", 0, 0, { startTime: 0 })).toEqual([0, 3]);
  });
});
