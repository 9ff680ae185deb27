// Runs grouped by one column's value, and each group's series reduced to a mean
// line with a band (min–max or ±1 std) around it.
import type { Run } from "../../api/types";
import type { XY } from "../../charts/shape";
import type { ColumnRef } from "../../state/identifiers";
import type { BandKind } from "../../state/urlState";
import { runValue } from "./runValues";

export const MISSING_GROUP = "(none)";

export interface RunGroup {
  /** The column's value shared by the group's runs, as text. */
  name: string;
  runIds: string[];
}

/**
 * One group per distinct value, in order: numbers numerically, then text; runs
 * without the column last, as "(none)". Order (and so colour) is the same on
 * every chart.
 */
export function groupRuns(runs: readonly Run[], by: ColumnRef): RunGroup[] {
  const groups = new Map<string, string[]>();
  for (const run of runs) {
    const v = runValue(run, by);
    const name = v === null ? MISSING_GROUP : String(v);
    const ids = groups.get(name);
    if (ids) ids.push(run.id);
    else groups.set(name, [run.id]);
  }
  return [...groups.entries()]
    .map(([name, runIds]) => ({ name, runIds }))
    .sort((a, b) => compareGroupNames(a.name, b.name));
}

/** Group order on every chart (and the index of its colour): numbers numerically, then
 * text, "(none)" last. */
export function compareGroupNames(a: string, b: string): number {
  if (a === MISSING_GROUP || b === MISSING_GROUP) return a === b ? 0 : a === MISSING_GROUP ? 1 : -1;
  const na = Number(a);
  const nb = Number(b);
  const numA = a.trim() !== "" && Number.isFinite(na);
  const numB = b.trim() !== "" && Number.isFinite(nb);
  if (numA && numB) return na - nb;
  if (numA !== numB) return numA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Band {
  x: number[];
  /** Mean of the runs that cover x; null where none has a finite value. */
  mean: (number | null)[];
  /** Lower and upper edge: min/max, or mean ∓ one (population) standard deviation. */
  lower: (number | null)[];
  upper: (number | null)[];
  /** How many runs contributed at each x. */
  count: number[];
}

/**
 * Mean and band of several series at every x any of them has (the union of
 * their x values). Runs rarely log at the same steps (every 10 vs every 7, or
 * downsampled differently), so each series is linearly interpolated at the x
 * values inside its own range, and left out beyond it: interpolation keeps the
 * set of runs behind each point stable, where bucketing would make the band
 * jump as runs fall in and out of buckets, and nothing is invented past a run's
 * first or last point. A gap (null) in a series is not bridged: at x values
 * next to it that series contributes nothing.
 */
export function bandOf(series: readonly XY[], kind: BandKind): Band {
  const x = unionOfX(series);
  const n = x.length;
  const sum = new Float64Array(n);
  const sumSq = new Float64Array(n);
  const min = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const count = new Array<number>(n).fill(0);
  for (const s of series) {
    const at = interpolateAt(s, x);
    for (let i = 0; i < n; i++) {
      const v = at[i];
      if (v === null || v === undefined) continue;
      sum[i] = (sum[i] as number) + v;
      sumSq[i] = (sumSq[i] as number) + v * v;
      if (v < (min[i] as number)) min[i] = v;
      if (v > (max[i] as number)) max[i] = v;
      count[i] = (count[i] as number) + 1;
    }
  }
  const mean = new Array<number | null>(n);
  const lower = new Array<number | null>(n);
  const upper = new Array<number | null>(n);
  for (let i = 0; i < n; i++) {
    const c = count[i] as number;
    if (c === 0) {
      mean[i] = lower[i] = upper[i] = null;
      continue;
    }
    const m = (sum[i] as number) / c;
    mean[i] = m;
    if (kind === "minmax") {
      lower[i] = min[i] as number;
      upper[i] = max[i] as number;
    } else {
      // E[v²] − m² can come out a hair below zero in floating point.
      const sd = Math.sqrt(Math.max(0, (sumSq[i] as number) / c - m * m));
      lower[i] = m - sd;
      upper[i] = m + sd;
    }
  }
  return { x, mean, lower, upper, count };
}

function unionOfX(series: readonly XY[]): number[] {
  const all: number[] = [];
  for (const s of series) for (const v of s.x) all.push(v);
  all.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of all) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

/** The series' value at each of the sorted xs, linear between its points; null outside its range. */
export function interpolateAt(s: XY, xs: readonly number[]): (number | null)[] {
  const out = new Array<number | null>(xs.length).fill(null);
  if (s.x.length === 0) return out;
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    if (x < (s.x[0] as number) || x > (s.x[s.x.length - 1] as number)) continue;
    while (j + 1 < s.x.length && (s.x[j + 1] as number) <= x) j++;
    const x0 = s.x[j] as number;
    const y0 = s.y[j] ?? null;
    if (x0 === x) {
      out[i] = y0;
      continue;
    }
    const x1 = s.x[j + 1] as number;
    const y1 = s.y[j + 1] ?? null;
    if (y0 === null || y1 === null) continue;
    out[i] = y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return out;
}
