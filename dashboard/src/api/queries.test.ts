import { afterEach, describe, expect, it, vi } from "vitest";
import { historyQuery, runQuery, startRouteRequests } from "./queries";

afterEach(() => {
  vi.unstubAllGlobals();
});

const RUN = { id: "r1", metrics: { loss: { value: 1, step: 3 } }, params: {}, tags: {} };
const HISTORY = { key: "loss", steps: [0, 1], values: [2, 1], timestamps: [0, 0], next_page_token: null };

function stubApi() {
  const fetch = vi.fn((url: string) => {
    const body = url.includes("/metrics/") ? HISTORY : RUN;
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

const signal = new AbortController().signal;

describe("startRouteRequests", () => {
  it("starts the run and its histories, which the page's queries take over", async () => {
    const fetch = stubApi();
    startRouteRequests({ name: "run", runId: "r1" }, new URLSearchParams());
    const run = await runQuery("r1").queryFn({ signal });
    expect(run.id).toBe("r1");
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    const history = await historyQuery("r1", "loss", null).queryFn({ signal });
    expect(history.values).toEqual([2, 1]);
    // Taken over: neither was asked for a second time.
    expect(fetch).toHaveBeenCalledTimes(2);
    // Once only: a later query asks the server again.
    await runQuery("r1").queryFn({ signal });
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it("starts nothing for other pages", () => {
    const fetch = stubApi();
    startRouteRequests({ name: "compare" }, new URLSearchParams());
    expect(fetch).not.toHaveBeenCalled();
  });
});
