import { afterEach, describe, expect, it, vi } from "vitest";
import { searchRuns } from "./client";
import { DEGRADED_SHOW_MS, degradedState, noteAnswer, resetDegraded } from "./degraded";

afterEach(() => {
  resetDegraded();
  vi.unstubAllGlobals();
});

const degraded = (age: string) => new Headers({ "Trackboard-Degraded": "true", Age: age });

describe("degraded answers", () => {
  it("are noted with their age, the oldest of recent ones kept", () => {
    noteAnswer(degraded("12"), 1_000);
    noteAnswer(degraded("5"), 2_000);
    expect(degradedState(2_000)).toEqual({ seenAt: 2_000, ageS: 12 });
  });

  it("stop showing once none came for a while", () => {
    noteAnswer(degraded("3"), 1_000);
    expect(degradedState(1_000 + DEGRADED_SHOW_MS - 1)).not.toBeNull();
    expect(degradedState(1_000 + DEGRADED_SHOW_MS)).toBeNull();
    noteAnswer(degraded("1"), 1_000 + DEGRADED_SHOW_MS + 5);
    expect(degradedState(1_000 + DEGRADED_SHOW_MS + 5)?.ageS).toBe(1);
  });

  it("ignore normal answers", () => {
    noteAnswer(new Headers({ Age: "30" }), 1_000);
    expect(degradedState(1_000)).toBeNull();
  });

  it("are noted from every API answer", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() =>
        Promise.resolve(
          new Response(JSON.stringify({ runs: [], next_page_token: null }), {
            status: 200,
            headers: { "Content-Type": "application/json", "Trackboard-Degraded": "true", Age: "42" },
          }),
        ),
      ),
    );
    await searchRuns({ experiment_ids: [1] });
    expect(degradedState()?.ageS).toBe(42);
  });
});
