// Column ids ("metrics.val loss", "params.lr", "attributes.start_time") and their
// spelling in the search language ("metrics.`val loss`").

export type ColumnKind = "attributes" | "metrics" | "params" | "tags";

export interface ColumnRef {
  kind: ColumnKind;
  key: string;
}

const KINDS: readonly ColumnKind[] = ["attributes", "metrics", "params", "tags"];
const BARE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Attributes the server can sort and filter by, in display order. */
export const SORTABLE_ATTRIBUTES = ["run_name", "status", "start_time", "end_time", "user"] as const;

export function columnId(ref: ColumnRef): string {
  return `${ref.kind}.${ref.key}`;
}

/** Splits at the first dot, so metric keys may themselves contain dots. */
export function parseColumnId(id: string): ColumnRef | null {
  const dot = id.indexOf(".");
  if (dot <= 0 || dot === id.length - 1) return null;
  const kind = id.slice(0, dot) as ColumnKind;
  if (!KINDS.includes(kind)) return null;
  return { kind, key: id.slice(dot + 1) };
}

/** The identifier as the filter/order_by language wants it, backquoted when needed. */
export function searchIdentifier(ref: ColumnRef): string {
  const key = BARE.test(ref.key) ? ref.key : `\`${ref.key}\``;
  return `${ref.kind}.${key}`;
}

export interface SortSpec {
  column: ColumnRef;
  desc: boolean;
}

export function orderByClause(sort: SortSpec | null): string[] | undefined {
  if (!sort) return undefined;
  return [`${searchIdentifier(sort.column)} ${sort.desc ? "DESC" : "ASC"}`];
}

/** Header click cycle: unsorted → ascending → descending → unsorted. */
export function nextSort(current: SortSpec | null, column: ColumnRef): SortSpec | null {
  if (!current || columnId(current.column) !== columnId(column)) return { column, desc: false };
  if (!current.desc) return { column, desc: true };
  return null;
}
