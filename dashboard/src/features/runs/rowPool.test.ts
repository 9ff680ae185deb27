import { describe, expect, it } from "vitest";
import { inSlotOrder, RowSlots } from "./rowPool";

const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

describe("RowSlots", () => {
  it("gives the rendered rows distinct slots, kept while they stay in view", () => {
    const pool = new RowSlots();
    const before = pool.assign(range(100, 36));
    expect(new Set(before).size).toBe(36);
    const after = pool.assign(range(120, 36));
    // Rows 120..135 were at places 20..35 before and are at 0..15 now.
    expect(after.slice(0, 16)).toEqual(before.slice(20));
  });

  it("gives the rows scrolled in the slots of the rows scrolled out", () => {
    const pool = new RowSlots();
    const before = pool.assign(range(0, 36));
    const after = pool.assign(range(20, 36));
    expect(new Set(after)).toEqual(new Set(before));
  });

  it("makes no new slot when one row fewer, then one more, is in view", () => {
    const pool = new RowSlots();
    pool.assign(range(0, 36));
    pool.assign(range(10, 35));
    const slots = pool.assign(range(17, 36));
    expect(Math.max(...slots)).toBe(35);
  });

  it("assigns the same indices the same slots twice", () => {
    const pool = new RowSlots();
    pool.assign(range(0, 30));
    const first = pool.assign(range(12, 30));
    expect(pool.assign(range(12, 30))).toEqual(first);
  });
});

describe("inSlotOrder", () => {
  it("puts each row at its slot, with null at the slots not in use", () => {
    expect(inSlotOrder(["r7", "r8", "r9"], [2, 0, 4])).toEqual(["r8", null, "r7", null, "r9"]);
  });

  it("keeps a row that stays in view at the same position while rows scroll through", () => {
    const pool = new RowSlots();
    const before = inSlotOrder(range(0, 30), pool.assign(range(0, 30)));
    const after = inSlotOrder(range(20, 30), pool.assign(range(20, 30)));
    // Rows 20..29 stay in view: each at the position it had, whatever its place now.
    for (const index of range(20, 10)) expect(after.indexOf(index)).toBe(before.indexOf(index));
  });
});
