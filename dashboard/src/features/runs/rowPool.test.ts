import { describe, expect, it } from "vitest";
import { slotKey } from "./rowPool";

const keys = (first: number, count: number) =>
  Array.from({ length: count }, (_, i) => slotKey(first + i, count));

describe("slotKey", () => {
  it("gives the rendered rows distinct keys", () => {
    for (const first of [0, 7, 99_990]) expect(new Set(keys(first, 36)).size).toBe(36);
  });

  it("reuses the key of the row scrolled out for the row scrolled in", () => {
    const before = keys(100, 36);
    const after = keys(120, 36);
    // Rows 120..135 stay in view with the keys they had.
    expect(after.slice(0, 16)).toEqual(before.slice(20));
    // Rows 136..155 take the keys of rows 100..119, which left.
    expect(new Set(after)).toEqual(new Set(before));
  });
});
