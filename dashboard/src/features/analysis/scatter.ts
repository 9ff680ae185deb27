// What the scatter plot can put on its axes (numeric params and metrics' latest
// values) and its points: one per run that has both values.
import type { Run } from "../../api/types";
import { isNumeric } from "../../charts/parallel";
import type { ColumnRef } from "../../state/identifiers";
import { numericRunValue } from "./runValues";

/** Params whose every value is a number, then every metric key, each sorted. */
export function scatterColumns(runs: readonly Run[]): ColumnRef[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params)) params.add(k);
    for (const k of Object.keys(r.metrics)) metrics.add(k);
  }
  const numericParams = [...params]
    .filter((k) => isNumeric(runs.map((r) => r.params[k] ?? null)))
    .sort()
    .map((key): ColumnRef => ({ kind: "params", key }));
  const metricRefs = [...metrics].sort().map((key): ColumnRef => ({ kind: "metrics", key }));
  return [...numericParams, ...metricRefs];
}

export interface RunPoint {
  run: Run;
  x: number;
  y: number;
}

export function scatterPoints(runs: readonly Run[], x: ColumnRef, y: ColumnRef): RunPoint[] {
  const out: RunPoint[] = [];
  for (const run of runs) {
    const xv = numericRunValue(run, x);
    const yv = numericRunValue(run, y);
    if (xv !== null && yv !== null) out.push({ run, x: xv, y: yv });
  }
  return out;
}
