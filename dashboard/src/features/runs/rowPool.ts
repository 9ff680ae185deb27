// Pooled rows of the virtualised runs table: React keys by slot, not by run.

import { useLayoutEffect, type RefObject } from "react";

/**
 * Gives each rendered row index a slot, the React key of its row element. A row that
 * stays in view keeps its slot; a row scrolled in takes the slot of a row scrolled out,
 * so React reuses that element and only its text changes: no elements are created or
 * removed, which costs Chromium a style recalculation and layout of every new element.
 * The number of rows in view may change by one from frame to frame (a row partly
 * visible at each edge or not); a new slot is made only when more rows are in view than
 * ever before. Assigning the same indices twice gives the same slots (React may render
 * twice).
 */
export class RowSlots {
  private slots = new Map<number, number>();
  private size = 0;

  /** The slot of each of `indices`, in their order. */
  assign(indices: readonly number[]): number[] {
    const next = new Map<number, number>();
    const taken = new Set<number>();
    for (const index of indices) {
      const slot = this.slots.get(index);
      if (slot !== undefined) {
        next.set(index, slot);
        taken.add(slot);
      }
    }
    const free: number[] = [];
    for (let slot = this.size - 1; slot >= 0; slot--) if (!taken.has(slot)) free.push(slot);
    for (const index of indices) {
      if (!next.has(index)) next.set(index, free.pop() ?? this.size++);
    }
    this.slots = next;
    return indices.map((index) => next.get(index) as number);
  }
}

/**
 * The rows placed at their slots: `rows[place]` goes to position `slots[place]`, unused
 * slots hold null. Rendered in this order, a row element never changes its place among
 * its siblings, so React never moves one. React keeps a keyed list in the order it is
 * given by moving elements (insertBefore), and Chromium detaches a moved element's layout
 * tree and builds it again: in index order, scrolling at 20 rows a frame moved 20 rows a
 * frame, and the layout objects, styles and fragments rebuilt each frame filled Blink's
 * garbage-collected heap, whose growth set off a full (mark-compact) GC every 2-3 s
 * (`--js-flags=--trace-incremental-marking`: started at the global limit, V8's own heap
 * at half of its limit).
 */
export function inSlotOrder<T>(rows: readonly T[], slots: readonly number[]): (T | null)[] {
  const ordered: (T | null)[] = [];
  rows.forEach((row, place) => {
    const slot = slots[place] as number;
    while (ordered.length <= slot) ordered.push(null);
    ordered[slot] = row;
  });
  return ordered;
}

/**
 * Blurs focus held inside a pooled row element when it is given another run: a checkbox
 * focused and then scrolled away would otherwise stay focused while showing, and on a
 * key press toggling, another run. Unpooled, the element would have been removed, and
 * focus with it; this keeps that behaviour.
 */
export function useBlurOnReassign(element: RefObject<HTMLElement | null>, runId: string): void {
  useLayoutEffect(() => {
    const active = document.activeElement;
    if (active instanceof HTMLElement && element.current?.contains(active)) active.blur();
  }, [element, runId]);
}
