import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { queryKeys } from "../../live/cacheUpdates";
import { preloadRuns, runIdFilter } from "./preloadRuns";

const run = (id: string) => ({
  id,
  experiment_id: 7,
  name: id,
  status: "FINISHED",
  params: {},
  tags: {},
  metrics: {},
});

afterEach(() => vi.unstubAllGlobals());

describe("runIdFilter", () => {
  it("names the runs in the search language, leaving out ids outside the run id alphabet", () => {
    expect(runIdFilter(["a1", "b-2", "x' or 1=1"])).toBe("attributes.run_id IN ('a1', 'b-2')");
  });
});

describe("preloadRuns", () => {
  it("reads the first run, then the others of its experiment in one search", async () => {
    const calls: { url: string; body: unknown }[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn((url: string, init: RequestInit) => {
        const body: unknown = typeof init.body === "string" ? JSON.parse(init.body) : null;
        calls.push({ url, body });
        const json = url.endsWith("/runs/search")
          ? { runs: [run("b"), run("c")], next_page_token: null }
          : run("a");
        const headers = { "Content-Type": "application/json" };
        return Promise.resolve(new Response(JSON.stringify(json), { status: 200, headers }));
      }),
    );
    const client = new QueryClient();
    await preloadRuns(client, ["a", "b", "c", "d"], new AbortController().signal);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/runs/a", "/api/v1/runs/search"]);
    expect(calls[1]?.body).toMatchObject({
      experiment_ids: [7],
      filter: "attributes.run_id IN ('b', 'c', 'd')",
      lifecycle_stage: "all",
    });
    for (const id of ["a", "b", "c"]) expect(client.getQueryData(queryKeys.run(id))).toMatchObject({ id });
    // A run of another experiment is left to its own query.
    expect(client.getQueryData(queryKeys.run("d"))).toBeUndefined();
  });
});
