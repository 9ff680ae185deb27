// Pooled rows of the virtualised runs table: React keys by slot, not by run.

/**
 * React key of the row element at `index` among `count` rendered rows: rows are pooled.
 * The rendered rows are `count` consecutive indices, so `index % count` is unique among
 * them, and the row scrolled out at one end is the element the row scrolled in at the
 * other end reuses (its text changes; no elements are created or removed, which costs
 * Chromium a style recalculation of every new element). Rows that stay in view keep
 * their key. `count` changes only with the viewport's height or at the list's ends.
 */
export function slotKey(index: number, count: number): string {
  return `slot:${index % Math.max(1, count)}`;
}
