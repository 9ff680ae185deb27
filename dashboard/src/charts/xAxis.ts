// What a chart's x axis measures: the step, the wall time, the time since the run
// started, or another logged metric joined on the step (e.g. `epoch`). The axis is a
// plain string ("step", "time", "relative", "metric:epoch") so it sits in the URL
// and compares with ===.
import type { MetricColumns } from "../api/types";

export type XAxis = "step" | "time" | "relative" | `metric:${string}`;

const METRIC_PREFIX = "metric:";

/** Total: anything unknown is the step axis. */
export function parseXAxis(raw: string | null): XAxis {
  if (raw === "time" || raw === "relative") return raw;
  if (raw?.startsWith(METRIC_PREFIX) && raw.length > METRIC_PREFIX.length) {
    return raw as `metric:${string}`;
  }
  return "step";
}

/** The metric an x axis is made of, or null for step and the two times. */
export function xMetricKey(axis: XAxis): string | null {
  return axis.startsWith(METRIC_PREFIX) ? axis.slice(METRIC_PREFIX.length) : null;
}

export function metricAxis(key: string): XAxis {
  return `metric:${key}`;
}

export function xAxisLabel(axis: XAxis): string {
  if (axis === "time") return "time";
  if (axis === "relative") return "seconds since start";
  return xMetricKey(axis) ?? "step";
}

/** What a series needs besides its own points to be placed on the axis. */
export interface XContext {
  /** The run's start_time (ms): origin of the relative axis. */
  startTime?: number;
  /** The x metric's history, for a metric axis. */
  xMetric?: MetricColumns;
}

/**
 * The x of each point, or null where it has none (a metric axis before the x
 * metric's first point, or without its history yet). Times are in seconds, uPlot's
 * unit.
 */
export function xValues(cols: MetricColumns, axis: XAxis, ctx: XContext = {}): (number | null)[] {
  const n = Math.min(cols.steps.length, cols.values.length, cols.timestamps.length);
  if (axis === "step") return cols.steps.slice(0, n);
  if (axis === "time") return cols.timestamps.slice(0, n).map((t) => t / 1000);
  if (axis === "relative") {
    // Without the run's start the first point of the history stands in for it.
    const origin = ctx.startTime ?? cols.timestamps[0] ?? 0;
    return cols.timestamps.slice(0, n).map((t) => (t - origin) / 1000);
  }
  return joinOnStep(cols.steps.slice(0, n), ctx.xMetric);
}

/**
 * The x metric's value at each step: its last point at or before that step. An
 * `epoch` logged once per epoch then labels every batch step of that epoch, which
 * an exact step match would leave without an x.
 */
export function joinOnStep(steps: readonly number[], xMetric: MetricColumns | undefined): (number | null)[] {
  if (!xMetric) return steps.map(() => null);
  const order = xMetric.steps.map((_, i) => i);
  if (!isSorted(xMetric.steps)) order.sort((a, b) => (xMetric.steps[a] as number) - (xMetric.steps[b] as number));
  const out = new Array<number | null>(steps.length);
  // Two pointers when the steps come sorted (histories do); a search otherwise.
  let j = -1;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as number;
    if (s < previous) j = -1;
    previous = s;
    while (j + 1 < order.length && (xMetric.steps[order[j + 1] as number] as number) <= s) j++;
    const v = j >= 0 ? (xMetric.values[order[j] as number] as number) : null;
    out[i] = v !== null && Number.isFinite(v) ? v : null;
  }
  return out;
}

function isSorted(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i] as number) < (values[i - 1] as number)) return false;
  return true;
}
