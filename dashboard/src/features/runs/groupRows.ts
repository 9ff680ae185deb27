// The runs table grouped by one column: the server sorts by the column first, so each
// group is a run of consecutive rows, and a header row goes before the first row of each
// group as pages stream in. A group spanning a page boundary keeps one header, since the
// rows are those of every loaded page in order.
import type { RunGroups } from "../../api/types";
import { compareGroupNames, MISSING_GROUP } from "../analysis/grouping";
import { runValue } from "../analysis/runValues";
import type { ColumnRef } from "../../state/identifiers";
import type { TreeRow } from "./runTree";

export interface GroupHeader {
  kind: "group";
  /** Unique among the items (a group met again after another gets a second header). */
  id: string;
  /** The group's value as text; "(none)" for runs without the column. */
  name: string;
  /** Runs matching the filter in the group (the server's count); null if not known. */
  count: number | null;
  /** Index of the group's colour: its place in compare's group order. */
  colour: number;
  collapsed: boolean;
}

export interface RunItem<R> {
  kind: "run";
  row: R;
}

export type TableItem<R> = GroupHeader | RunItem<R>;

/** Group name → (count, colour index), from the endpoint's answer. */
export interface GroupIndex {
  counts: Map<string, number>;
  colours: Map<string, number>;
}

export function groupName(value: string | number | null): string {
  return value === null ? MISSING_GROUP : String(value);
}

/** Counts by name and colours in compare's order (numbers numerically, then text). */
export function indexGroups(answer: RunGroups | undefined): GroupIndex {
  const counts = new Map<string, number>();
  for (const g of answer?.groups ?? []) counts.set(groupName(g.value), g.count);
  const names = [...counts.keys()].sort(compareGroupNames);
  return { counts, colours: new Map(names.map((name, i) => [name, i])) };
}

/**
 * The table's items: a header before the first row of each group, then its rows unless
 * the group is collapsed. Children of nested runs stay under their parent's group; a
 * group seen again after another (rows moved by a live update) gets a header again.
 */
export function withGroupHeaders<R>(
  tree: readonly TreeRow[],
  rows: readonly R[],
  by: ColumnRef,
  groups: GroupIndex,
  collapsed: ReadonlySet<string>,
): TableItem<R>[] {
  const items: TableItem<R>[] = [];
  const colours = new Map(groups.colours);
  const seen = new Map<string, number>();
  let current: string | null = null;
  let hidden = false;
  tree.forEach((t, i) => {
    const row = rows[i];
    if (row === undefined) return;
    if (t.depth === 0 || current === null) {
      const name = groupName(runValue(t.run, by));
      if (name !== current) {
        current = name;
        hidden = collapsed.has(name);
        // A group the endpoint did not list (past its bound, or newer) takes the next colour.
        let colour = colours.get(name);
        if (colour === undefined) {
          colour = colours.size;
          colours.set(name, colour);
        }
        const times = (seen.get(name) ?? 0) + 1;
        seen.set(name, times);
        items.push({
          kind: "group",
          id: times === 1 ? name : `${name}\u0000${times}`,
          name,
          count: groups.counts.get(name) ?? null,
          colour,
          collapsed: hidden,
        });
      }
    }
    if (!hidden) items.push({ kind: "run", row });
  });
  return items;
}
