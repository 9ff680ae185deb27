// Which params go with a metric across runs: Pearson correlation (linear, signed,
// numeric params only) and the correlation ratio η of the metric on the param's
// values put in bins (any shape of dependence, any param). η is the model-based
// importance: the model is "predict the metric by its mean within the param's
// bin", and η² is the share of the metric's variance that model explains.
import type { Run } from "../../api/types";
import { runValue, numericRunValue } from "./runValues";

export interface ParamImportance {
  param: string;
  /** Pearson r in [-1, 1]; null for a non-numeric param or a constant one. */
  correlation: number | null;
  /** Correlation ratio η in [0, 1]; null when it cannot be told (fewer than 2 bins). */
  importance: number | null;
  /** Runs that have both the param and the metric. */
  runs: number;
}

/** Pearson's r of paired values; null with fewer than 3 pairs or no variance. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] as number;
    my += ys[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * η = sqrt(between-group sum of squares / total sum of squares) of ys grouped by
 * label. 0: the groups' means are equal; 1: each group is constant. Null with
 * fewer than 2 groups or a constant metric.
 */
export function correlationRatio(labels: readonly string[], ys: readonly number[]): number | null {
  const n = Math.min(labels.length, ys.length);
  const sums = new Map<string, { sum: number; count: number }>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = ys[i] as number;
    total += y;
    const g = sums.get(labels[i] as string);
    if (g) {
      g.sum += y;
      g.count++;
    } else sums.set(labels[i] as string, { sum: y, count: 1 });
  }
  if (sums.size < 2) return null;
  const mean = total / n;
  let ssTotal = 0;
  for (let i = 0; i < n; i++) ssTotal += ((ys[i] as number) - mean) ** 2;
  if (ssTotal === 0) return null;
  let ssBetween = 0;
  for (const g of sums.values()) ssBetween += g.count * (g.sum / g.count - mean) ** 2;
  return Math.sqrt(Math.min(1, ssBetween / ssTotal));
}

/**
 * About √n bins of equal counts (ties share a bin). η grows with the number of
 * bins whatever the data (with one run per bin it is 1), so the bins stay much
 * fewer than the runs; a param with no more distinct values than that keeps its
 * values as they are.
 */
export function binLabels(values: readonly number[]): string[] {
  const n = values.length;
  const bins = Math.max(2, Math.floor(Math.sqrt(n)));
  if (new Set(values).size <= bins) return values.map(String);
  const sorted = [...values].sort((a, b) => a - b);
  const firstRank = new Map<number, number>();
  sorted.forEach((v, r) => {
    if (!firstRank.has(v)) firstRank.set(v, r);
  });
  return values.map((v) => String(Math.floor(((firstRank.get(v) as number) * bins) / n)));
}

/** Every param any run has, scored against the metric's latest value; most important first. */
export function paramImportance(runs: readonly Run[], metric: string): ParamImportance[] {
  const withMetric = runs.filter((r) => {
    const v = r.metrics[metric]?.value;
    return v !== undefined && Number.isFinite(v);
  });
  const params = new Set<string>();
  for (const r of withMetric) for (const k of Object.keys(r.params)) params.add(k);
  const out: ParamImportance[] = [];
  for (const param of params) {
    const ref = { kind: "params", key: param } as const;
    const having = withMetric.filter((r) => runValue(r, ref) !== null);
    const ys = having.map((r) => r.metrics[metric]?.value as number);
    const numeric = having.map((r) => numericRunValue(r, ref));
    const allNumeric = numeric.every((v): v is number => v !== null);
    const labels = allNumeric ? binLabels(numeric) : having.map((r) => String(runValue(r, ref)));
    out.push({
      param,
      correlation: allNumeric ? pearson(numeric, ys) : null,
      importance: correlationRatio(labels, ys),
      runs: having.length,
    });
  }
  return out.sort(
    (a, b) =>
      (b.importance ?? -1) - (a.importance ?? -1) ||
      Math.abs(b.correlation ?? 0) - Math.abs(a.correlation ?? 0) ||
      (a.param < b.param ? -1 : 1),
  );
}
