// Turns metric histories into the arrays uPlot draws. Non-finite values become
// null (uPlot draws a gap); points missing after aligning several series become
// undefined (uPlot joins across them).
import type { LivePoint, MetricColumns } from "../api/types";
import { xValues, type XAxis, type XContext } from "./xAxis";

export interface XY {
  x: number[];
  y: (number | null)[];
}

export type Aligned = [number[], ...(number | null | undefined)[][]];

/**
 * x as the axis measures it (see xAxis.ts; times in seconds, uPlot's unit). Points
 * without an x (a metric axis before its first point) are left out.
 */
export function toXY(cols: MetricColumns, axis: XAxis, ctx: XContext = {}): XY {
  const xs = xValues(cols, axis, ctx);
  const x: number[] = [];
  const y: (number | null)[] = [];
  let sorted = true;
  for (let i = 0; i < xs.length; i++) {
    const xi = xs[i];
    if (xi === null || xi === undefined) continue;
    const v = cols.values[i] as number;
    if (x.length > 0 && xi < (x[x.length - 1] as number)) sorted = false;
    x.push(xi);
    y.push(Number.isFinite(v) ? v : null);
  }
  return sorted ? { x, y } : sortByX(x, y);
}

function sortByX(x: number[], y: (number | null)[]): XY {
  const order = x.map((_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number));
  return { x: order.map((i) => x[i] as number), y: order.map((i) => y[i] ?? null) };
}

/**
 * Exponential moving average with TensorBoard's debiasing, so the first points
 * are not pulled towards zero. Gaps stay gaps; the average carries across them.
 */
export function emaSmooth(y: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return y.slice();
  const w = Math.min(weight, 0.999);
  const out = new Array<number | null>(y.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v === null || v === undefined) {
      out[i] = null;
      continue;
    }
    acc = acc * w + (1 - w) * v;
    n++;
    out[i] = acc / (1 - Math.pow(w, n));
  }
  return out;
}

/** A log axis cannot show values ≤ 0: they become gaps. */
export function positiveOnly(y: readonly (number | null)[]): (number | null)[] {
  return y.map((v) => (v !== null && v > 0 ? v : null));
}

export interface ShapeOptions {
  axis: XAxis;
  /** The run's start and the x metric's history, for those axes. */
  context?: XContext;
  smoothing: number;
  log: boolean;
}

export function shapeSeries(cols: MetricColumns, opts: ShapeOptions): XY {
  const xy = toXY(cols, opts.axis, opts.context);
  let y = opts.smoothing > 0 ? emaSmooth(xy.y, opts.smoothing) : xy.y;
  if (opts.log) y = positiveOnly(y);
  return { x: xy.x, y };
}

/**
 * Puts several series on one shared, sorted x array (uPlot needs one). A value a
 * series lacks at some x is undefined; its own nulls stay null.
 */
export function alignSeries(series: readonly XY[]): Aligned {
  if (series.length === 1) {
    const only = series[0] as XY;
    return [only.x, only.y];
  }
  const all: number[] = [];
  for (const s of series) for (const v of s.x) all.push(v);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const v of all) if (xs.length === 0 || xs[xs.length - 1] !== v) xs.push(v);

  const ys = series.map((s) => {
    const out = new Array<number | null | undefined>(xs.length).fill(undefined);
    let j = 0;
    for (let i = 0; i < s.x.length; i++) {
      const xi = s.x[i] as number;
      while ((xs[j] as number) < xi) j++;
      out[j] = s.y[i] ?? null;
    }
    return out;
  });
  return [xs, ...ys];
}

/** Adds live points to a history, keeping step order; a repeated step replaces nothing. */
export function appendPoints(cols: MetricColumns, points: readonly LivePoint[]): MetricColumns {
  if (points.length === 0) return cols;
  const steps = cols.steps.slice();
  const values = cols.values.slice();
  const timestamps = cols.timestamps.slice();
  let sorted = true;
  for (const [step, value, ts] of points) {
    if (steps.length > 0 && step < (steps[steps.length - 1] as number)) sorted = false;
    steps.push(step);
    values.push(value);
    timestamps.push(ts);
  }
  if (sorted) return { key: cols.key, steps, values, timestamps };
  const order = steps.map((_, i) => i).sort((a, b) => (steps[a] as number) - (steps[b] as number));
  return {
    key: cols.key,
    steps: order.map((i) => steps[i] as number),
    values: order.map((i) => values[i] as number),
    timestamps: order.map((i) => timestamps[i] as number),
  };
}

/** The step range that a zoom on the x axis covers, whatever the axis unit. */
export function stepRangeFor(
  cols: MetricColumns,
  axis: XAxis,
  min: number,
  max: number,
  ctx: XContext = {},
): [number, number] | null {
  if (axis === "step") {
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    return lo <= hi ? [lo, hi] : null;
  }
  const xs = xValues(cols, axis, ctx);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x === null || x === undefined || x < min || x > max) continue;
    const s = cols.steps[i] as number;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return lo <= hi ? [lo, hi] : null;
}
