// Layout of the runs table kept in the URL beside the RunsView: which built-in columns
// are hidden (`hide`) and which columns are pinned to the left (`pin`, in order). The
// chosen data columns and their order stay in `col` (RunsView.columns). Pure functions,
// so the page and the tests share them.
import { columnId, type ColumnKind, type ColumnRef } from "../../state/identifiers";
import type { AvailableKeys } from "./columns";

export interface ColumnLayout {
  /** Built-in columns the user hid ("attributes.status", "duration", ...). */
  hidden: string[];
  /** Column ids pinned to the left edge, leftmost first. */
  pinned: string[];
}

export const EMPTY_LAYOUT: ColumnLayout = { hidden: [], pinned: [] };

/** Built-in columns that may be hidden; the run name always shows (it holds the tree). */
export const HIDEABLE = ["attributes.status", "attributes.start_time", "duration", "attributes.user"] as const;

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ""))];
}

export function parseColumnLayout(search: URLSearchParams): ColumnLayout {
  const allowed = new Set<string>(HIDEABLE);
  return {
    hidden: unique(search.getAll("hide")).filter((id) => allowed.has(id)),
    pinned: unique(search.getAll("pin")),
  };
}

/** Adds the layout to `out` (repeated parameters: keys may contain commas). */
export function writeColumnLayout(out: URLSearchParams, layout: ColumnLayout): URLSearchParams {
  for (const id of layout.hidden) out.append("hide", id);
  for (const id of layout.pinned) out.append("pin", id);
  return out;
}

export function toggled(list: readonly string[], id: string): string[] {
  return list.includes(id) ? list.filter((s) => s !== id) : [...list, id];
}

/** Shows every key of one prefix (appended in key order after those already chosen), or
 * hides them all, keeping the order of the rest. */
export function setPrefixShown(
  chosen: readonly ColumnRef[],
  keys: AvailableKeys,
  kind: Exclude<ColumnKind, "attributes">,
  shown: boolean,
): ColumnRef[] {
  if (!shown) return chosen.filter((c) => c.kind !== kind);
  const have = new Set(chosen.map(columnId));
  const added = keys[kind].map((key) => ({ kind, key })).filter((c) => !have.has(columnId(c)));
  return [...chosen, ...added];
}

/** `chosen` with the column `id` moved `by` places (clamped at the ends). */
export function moveColumn(chosen: readonly ColumnRef[], id: string, by: number): ColumnRef[] {
  const from = chosen.findIndex((c) => columnId(c) === id);
  if (from < 0) return [...chosen];
  const to = Math.max(0, Math.min(chosen.length - 1, from + by));
  const next = [...chosen];
  const [moved] = next.splice(from, 1);
  if (moved) next.splice(to, 0, moved);
  return next;
}

/** Column ids in display order: the pinned ones present first (in pin order), then the
 * rest in their own order. */
export function arrange(ids: readonly string[], pinned: readonly string[]): string[] {
  const present = new Set(ids);
  const left = pinned.filter((id) => present.has(id));
  const pinnedSet = new Set(left);
  return [...left, ...ids.filter((id) => !pinnedSet.has(id))];
}

/** Left offset of each pinned column (sticky position), given every column's width in
 * display order; the always-first selection column counts towards them. */
export function pinOffsets(
  ordered: readonly { id: string; width: number }[],
  pinned: readonly string[],
  leading: number,
): Map<string, number> {
  const set = new Set(pinned);
  const offsets = new Map<string, number>();
  let left = leading;
  for (const column of ordered) {
    if (!set.has(column.id)) break;
    offsets.set(column.id, left);
    left += column.width;
  }
  return offsets;
}

/** Export columns (`POST /runs/export`) for the visible table columns, in their order. */
export function exportColumns(visible: readonly string[]): string[] {
  const names: Record<string, string[]> = {
    "attributes.run_name": ["name"],
    "attributes.status": ["status"],
    "attributes.start_time": ["start_time"],
    "attributes.end_time": ["end_time"],
    duration: ["start_time", "end_time"],
    "attributes.user": ["user"],
  };
  const out = ["id"];
  for (const id of visible) {
    const mapped = names[id] ?? (/^(params|metrics|tags)\../.test(id) ? [id] : []);
    for (const name of mapped) if (!out.includes(name)) out.push(name);
  }
  return out;
}
