// Column set of the runs table: fixed run attributes plus the chosen
// params/metrics/tags, each knowing how it sorts on the server.
import {
  createColumnHelper,
  metaHelper,
  tableFeatures,
  columnSizingFeature,
} from "@tanstack/react-table";
import type { ReactNode } from "react";
import type { Run } from "../../api/types";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { runUser } from "../../mlflowTags";
import { columnId, type ColumnRef } from "../../state/identifiers";
import { arrange, EMPTY_LAYOUT, type ColumnLayout } from "./columnState";
import { RunNameCell } from "./RunNameCell";

/** How a column shows a run in a body row. The body rows call it with the run itself,
 * not through TanStack rows and cells. A table row with its cells, made and kept for each
 * run scrolled into view, grew the page's JS heap to about 430 MB by the end of 100k runs
 * and was about 60 % of its allocation while scrolling (of 220 KB a frame at 20 rows a
 * frame, sampling heap profile); the garbage collections of that heap were the frames
 * over 50 ms. TanStack keeps the columns, headers and sizes. */
export interface RunColumnMeta {
  runCell: (run: Run) => ReactNode;
}

export const features = tableFeatures({ columnSizingFeature, columnMeta: metaHelper<RunColumnMeta>() });
const helper = createColumnHelper<typeof features, Run>();

export interface ColumnInfo {
  /** Sort key on the server, or null when the column cannot be sorted. */
  sort: ColumnRef | null;
  numeric: boolean;
}

export const SELECT_COLUMN = "select";

/** A column that shows each run as `runCell` returns it. */
function runColumn(id: string, header: string, size: number, runCell: (run: Run) => ReactNode) {
  return helper.display({ id, header, size, meta: { runCell } });
}

export function baseColumns() {
  return [
    // The body rows draw the selection box themselves (it needs the selection).
    runColumn(SELECT_COLUMN, "", 40, () => null),
    runColumn("attributes.run_name", "Run", 260, (r) => <RunNameCell run={r} />),
    runColumn("attributes.status", "Status", 100, (r) => <StatusBadge status={r.status} />),
    runColumn("attributes.start_time", "Started", 175, (r) => formatTime(r.start_time)),
    runColumn("duration", "Duration", 90, (r) => formatDuration(r.start_time, r.end_time)),
    runColumn("attributes.user", "User", 100, (r) => runUser(r)),
  ];
}

export function dataColumn(ref: ColumnRef) {
  const id = columnId(ref);
  if (ref.kind === "metrics") {
    return runColumn(id, ref.key, 120, (r) => formatValue(r.metrics[ref.key]?.value ?? null));
  }
  const pick = (r: Run): string =>
    (ref.kind === "params" ? r.params[ref.key] : ref.kind === "tags" ? r.tags[ref.key] : "") ?? "";
  return runColumn(id, ref.key, 120, pick);
}

/** Every column of the table in one typed list: the selection box, then the pinned
 * columns in pin order, then the base columns not hidden and the chosen ones. */
export function buildColumns(chosen: readonly ColumnRef[], layout: ColumnLayout = EMPTY_LAYOUT) {
  const hidden = new Set(layout.hidden);
  const [select, ...rest] = [...baseColumns(), ...chosen.map(dataColumn)];
  const shown = rest.filter((c) => !hidden.has(c.id ?? ""));
  const byId = new Map(shown.map((c) => [c.id ?? "", c]));
  const ordered = arrange([...byId.keys()], layout.pinned).flatMap((id) => byId.get(id) ?? []);
  return helper.columns(select ? [select, ...ordered] : ordered);
}

export function columnInfo(id: string, ref: ColumnRef | null): ColumnInfo {
  if (id === SELECT_COLUMN || id === "duration") return { sort: null, numeric: false };
  if (ref) return { sort: ref, numeric: ref.kind === "metrics" };
  return { sort: null, numeric: false };
}

export interface AvailableKeys {
  metrics: string[];
  params: string[];
  tags: string[];
}

/** Keys seen in the first `limit` runs: enough to offer columns without scanning 100k runs. */
export function availableKeys(runs: readonly Run[], limit = 2000): AvailableKeys {
  const m = new Set<string>();
  const p = new Set<string>();
  const t = new Set<string>();
  const n = Math.min(runs.length, limit);
  for (let i = 0; i < n; i++) {
    const r = runs[i] as Run;
    for (const k in r.metrics) m.add(k);
    for (const k in r.params) p.add(k);
    for (const k in r.tags) if (!k.startsWith("mlflow.")) t.add(k);
  }
  const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { metrics: sorted(m), params: sorted(p), tags: sorted(t) };
}

export function defaultColumns(keys: AvailableKeys): ColumnRef[] {
  return [
    ...keys.metrics.slice(0, 4).map((key) => ({ kind: "metrics" as const, key })),
    ...keys.params.slice(0, 4).map((key) => ({ kind: "params" as const, key })),
  ];
}
