// Data for the parallel-coordinates plot: one axis per param, the chosen metric
// last; each run becomes a polyline of positions in [0, 1] (null = missing).
import type { Run } from "../api/types";

export interface ParallelAxis {
  label: string;
  kind: "numeric" | "categorical";
  /** Tick labels from bottom (0) to top (1). */
  ticks: { pos: number; label: string }[];
}

export interface ParallelData {
  axes: ParallelAxis[];
  /** lines[r][a]: position of run r on axis a. */
  lines: (number | null)[][];
  /** Metric position in [0, 1] per run, used for colour. */
  color: (number | null)[];
}

/** Params whose value is not the same in every run (missing counts as a value). */
export function variedParams(runs: readonly Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.params)) keys.add(k);
  return [...keys]
    .filter((k) => new Set(runs.map((r) => r.params[k] ?? "\u0000missing")).size > 1)
    .sort();
}

export function metricKeys(runs: readonly Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.metrics)) keys.add(k);
  return [...keys].sort();
}

function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** Positive values spanning two decades or more (learning rates, weight decay) read better in log. */
export function wantsLogScale(values: readonly number[]): boolean {
  if (values.length < 2) return false;
  const min = Math.min(...values);
  return min > 0 && Math.max(...values) / min >= 100;
}

function numericAxis(label: string, raw: (number | null)[]): [ParallelAxis, (number | null)[]] {
  const finite = raw.filter((v): v is number => v !== null && Number.isFinite(v));
  const log = wantsLogScale(finite);
  const f = log ? Math.log10 : (v: number) => v;
  const inv = log ? (v: number) => Math.pow(10, v) : (v: number) => v;
  const min = finite.length ? f(Math.min(...finite)) : 0;
  const max = finite.length ? f(Math.max(...finite)) : 1;
  const span = max - min;
  const pos = raw.map((v) =>
    v === null || !Number.isFinite(v) ? null : span === 0 ? 0.5 : (f(v) - min) / span,
  );
  const ticks =
    span === 0
      ? [{ pos: 0.5, label: formatTick(inv(min)) }]
      : [0, 0.25, 0.5, 0.75, 1].map((p) => ({ pos: p, label: formatTick(inv(min + p * span)) }));
  return [{ label: log ? `${label} (log)` : label, kind: "numeric", ticks }, pos];
}

function categoricalAxis(label: string, raw: (string | null)[]): [ParallelAxis, (number | null)[]] {
  const cats = [...new Set(raw.filter((v): v is string => v !== null))].sort();
  const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  const index = new Map(cats.map((c, i) => [c, at(i)]));
  return [
    { label, kind: "categorical", ticks: cats.map((c, i) => ({ pos: at(i), label: c })) },
    raw.map((v) => (v === null ? null : (index.get(v) ?? null))),
  ];
}

/** Every present value reads as a finite number (params arrive as strings). */
export function isNumeric(values: readonly (string | null)[]): boolean {
  const present = values.filter((v): v is string => v !== null);
  return present.length > 0 && present.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
}

export function buildParallel(
  runs: readonly Run[],
  params: readonly string[],
  metric: string | null,
): ParallelData {
  const columns: (number | null)[][] = [];
  const axes: ParallelAxis[] = [];
  for (const p of params) {
    const raw = runs.map((r) => r.params[p] ?? null);
    const [axis, pos] = isNumeric(raw)
      ? numericAxis(
          p,
          raw.map((v) => (v === null ? null : Number(v))),
        )
      : categoricalAxis(p, raw);
    axes.push(axis);
    columns.push(pos);
  }
  let color: (number | null)[] = runs.map(() => null);
  if (metric) {
    const [axis, pos] = numericAxis(
      metric,
      runs.map((r) => r.metrics[metric]?.value ?? null),
    );
    axes.push(axis);
    columns.push(pos);
    color = pos;
  }
  const lines = runs.map((_, r) => columns.map((col) => col[r] ?? null));
  return { axes, lines, color };
}
