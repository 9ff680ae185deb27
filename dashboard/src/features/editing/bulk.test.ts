import { describe, expect, it } from "vitest";
import { forEachLimited } from "./bulk";

describe("bulk edits", () => {
  it("runs every action, at most `limit` at a time, and keeps failures apart", async () => {
    let active = 0;
    let peak = 0;
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const outcome = await forEachLimited(
      ids,
      async (id) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 1));
        active--;
        if (id === "r3") throw new Error("forbidden");
        return id;
      },
      4,
    );
    expect(peak).toBeLessThanOrEqual(4);
    expect(outcome.done.sort()).toEqual(ids.filter((id) => id !== "r3").sort());
    expect(outcome.failed.map((f) => f.id)).toEqual(["r3"]);
  });
});
