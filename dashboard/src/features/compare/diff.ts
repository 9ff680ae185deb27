// Run diff: params, tags and latest metric values of the compared runs side by side,
// each row marked when the runs disagree (a value missing in some run counts as a
// difference; NaN equals NaN).
import type { Run } from "../../api/types";
import { NOTE_TAG } from "../../mlflowTags";

export type DiffSection = "params" | "tags" | "metrics";

export interface DiffRow {
  section: DiffSection;
  key: string;
  /** One per run, in the runs' order; null where the run has no such key. */
  values: (string | number | null)[];
  differs: boolean;
}

function sameValue(a: string | number | null, b: string | number | null): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || (Number.isNaN(a) && Number.isNaN(b));
  }
  return a === b;
}

function keysOf(runs: readonly Run[], pick: (r: Run) => Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r))) keys.add(k);
  return [...keys].sort((a, b) => a.localeCompare(b));
}

function row(
  section: DiffSection,
  key: string,
  values: (string | number | null)[],
): DiffRow {
  const first = values[0] ?? null;
  return { section, key, values, differs: values.some((v) => !sameValue(v, first)) };
}

export function computeRunDiff(runs: readonly Run[]): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const key of keysOf(runs, (r) => r.params)) {
    rows.push(row("params", key, runs.map((r) => r.params[key] ?? null)));
  }
  // The note is prose, not a setting: it is read on the run page.
  for (const key of keysOf(runs, (r) => r.tags)) {
    if (key === NOTE_TAG) continue;
    rows.push(row("tags", key, runs.map((r) => r.tags[key] ?? null)));
  }
  for (const key of keysOf(runs, (r) => r.metrics)) {
    rows.push(row("metrics", key, runs.map((r) => r.metrics[key]?.value ?? null)));
  }
  return rows;
}

export function visibleDiffRows(rows: readonly DiffRow[], onlyDifferences: boolean): DiffRow[] {
  return onlyDifferences ? rows.filter((r) => r.differs) : [...rows];
}
