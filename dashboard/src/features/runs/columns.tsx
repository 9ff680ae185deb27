// Column set of the runs table: fixed run attributes plus the chosen
// params/metrics/tags, each knowing how it sorts on the server.
import { createColumnHelper, tableFeatures, columnSizingFeature } from "@tanstack/react-table";
import type { Run } from "../../api/types";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { runDisplayName, runUser } from "../../mlflowTags";
import { columnId, type ColumnRef } from "../../state/identifiers";
import { arrange, EMPTY_LAYOUT, type ColumnLayout } from "./columnState";
import { RunNameCell } from "./RunNameCell";

export const features = tableFeatures({ columnSizingFeature });
const helper = createColumnHelper<typeof features, Run>();

export interface ColumnInfo {
  /** Sort key on the server, or null when the column cannot be sorted. */
  sort: ColumnRef | null;
  numeric: boolean;
}

export const SELECT_COLUMN = "select";

export function baseColumns() {
  return [
    helper.display({ id: SELECT_COLUMN, header: "", size: 40 }),
    helper.accessor((r) => runDisplayName(r), {
      id: "attributes.run_name",
      header: "Run",
      size: 260,
      cell: (info) => <RunNameCell run={info.row.original} />,
    }),
    helper.accessor((r) => r.status, {
      id: "attributes.status",
      header: "Status",
      size: 100,
      cell: (info) => <StatusBadge status={info.getValue()} />,
    }),
    helper.accessor((r) => r.start_time, {
      id: "attributes.start_time",
      header: "Started",
      size: 175,
      cell: (info) => formatTime(info.getValue()),
    }),
    helper.accessor((r) => r.end_time, {
      id: "duration",
      header: "Duration",
      size: 90,
      cell: (info) => formatDuration(info.row.original.start_time, info.getValue()),
    }),
    helper.accessor((r) => runUser(r), {
      id: "attributes.user",
      header: "User",
      size: 100,
    }),
  ];
}

export function dataColumn(ref: ColumnRef) {
  const id = columnId(ref);
  if (ref.kind === "metrics") {
    return helper.accessor((r) => r.metrics[ref.key]?.value ?? null, {
      id,
      header: ref.key,
      size: 120,
      cell: (info) => formatValue(info.getValue()),
    });
  }
  const pick = (r: Run): string =>
    (ref.kind === "params" ? r.params[ref.key] : ref.kind === "tags" ? r.tags[ref.key] : "") ?? "";
  return helper.accessor(pick, { id, header: ref.key, size: 120 });
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
