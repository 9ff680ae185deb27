import type { InfiniteData } from "@tanstack/react-query";
import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import type { LiveEvent, MetricColumns, Run, RunPage } from "../api/types";
import {
  applyPointsToHistories,
  applyPointsToRun,
  applyRunMetrics,
  prependRun,
  queryKeys,
  updateRunsInPages,
} from "./cacheUpdates";

function run(id: string): Run {
  return {
    id,
    experiment_id: 1,
    name: id,
    status: "RUNNING",
    start_time: 0,
    end_time: null,
    user: "",
    lifecycle_stage: "active",
    params: {},
    tags: {},
    metrics: { loss: { value: 1, step: 5, timestamp: 50, min: 0.5, max: 2, count: 6 } },
  };
}

const pages = (...ids: string[][]): InfiniteData<RunPage> => ({
  pages: ids.map((p) => ({ runs: p.map(run), next_page_token: null })),
  pageParams: ids.map(() => null),
});

describe("run summaries from live points", () => {
  it("takes the latest step as value and widens min/max", () => {
    const r = applyPointsToRun(run("a"), {
      loss: [
        [6, 0.1, 60],
        [4, 9, 40],
      ],
    });
    expect(r.metrics.loss).toEqual({ value: 0.1, step: 6, timestamp: 60, min: 0.1, max: 9, count: 8 });
  });

  it("keeps min/max when a point is not finite", () => {
    const r = applyPointsToRun(run("a"), { loss: [[7, Number.NaN, 70]] });
    expect(Number.isNaN(r.metrics.loss?.value)).toBe(true);
    expect(r.metrics.loss?.min).toBe(0.5);
  });

  it("adds a key seen for the first time", () => {
    const r = applyPointsToRun(run("a"), { acc: [[1, Number.NaN, 1]] });
    expect(r.metrics.acc?.min).toBeNull();
  });
});

describe("runs pages", () => {
  it("replaces only the changed run and keeps other pages' identity", () => {
    const data = pages(["a", "b"], ["c"]);
    const next = updateRunsInPages(data, (r) => (r.id === "b" ? { ...r, status: "FINISHED" } : r));
    expect(next.pages[0]?.runs[1]?.status).toBe("FINISHED");
    expect(next.pages[1]).toBe(data.pages[1]);
    expect(updateRunsInPages(data, (r) => r)).toBe(data);
  });

  it("prepends a new run once", () => {
    const data = pages(["a"]);
    const once = prependRun(data, run("z"));
    expect(once.pages[0]?.runs.map((r) => r.id)).toEqual(["z", "a"]);
    expect(prependRun(once, run("z"))).toBe(once);
  });
});

describe("histories in the query cache", () => {
  const history = (steps: number[]): MetricColumns => ({
    key: "loss",
    steps,
    values: steps.map(() => 1),
    timestamps: steps,
  });

  it("appends points within each cached zoom range", () => {
    const qc = new QueryClient();
    qc.setQueryData(queryKeys.history("r", "loss", null, 100), history([1, 2]));
    qc.setQueryData(queryKeys.history("r", "loss", [0, 2], 100), history([1, 2]));
    applyPointsToHistories(qc, "r", { loss: [[3, 5, 3]] }, false);
    expect(qc.getQueryData<MetricColumns>(queryKeys.history("r", "loss", null, 100))?.steps).toEqual([1, 2, 3]);
    expect(qc.getQueryData<MetricColumns>(queryKeys.history("r", "loss", [0, 2], 100))?.steps).toEqual([1, 2]);
  });

  it("re-fetches a history that grew far past its downsampled size", () => {
    const qc = new QueryClient();
    const key = queryKeys.history("r", "loss", null, 1);
    qc.setQueryData(key, history([1, 2, 3]));
    applyPointsToHistories(qc, "r", { loss: [[4, 1, 4]] }, false);
    expect(qc.getQueryState(key)?.isInvalidated).toBe(true);
    expect(qc.getQueryData<MetricColumns>(key)?.steps).toEqual([1, 2, 3]);
  });

  it("asks again for a history still loading when points arrive", () => {
    const qc = new QueryClient();
    const key = queryKeys.history("r", "loss", null, 100);
    // A chart that just mounted: its query exists, its answer has not come.
    void qc.query({ queryKey: key, queryFn: () => new Promise<MetricColumns>(() => {}) });
    applyPointsToHistories(qc, "r", { loss: [[4, 1, 4]] }, false);
    expect(qc.getQueryState(key)?.isInvalidated).toBe(true);
  });

  it("re-fetches when the server truncated the event", () => {
    const qc = new QueryClient();
    const key = queryKeys.history("r", "loss", null, 100);
    qc.setQueryData(key, history([1]));
    applyPointsToHistories(qc, "r", { loss: [[4, 1, 4]] }, true);
    expect(qc.getQueryState(key)?.isInvalidated).toBe(true);
  });
});

describe("a run topic's metrics event", () => {
  const event = (truncated: boolean): Extract<LiveEvent, { event: "metrics" }> => ({
    event: "metrics",
    run_id: "a",
    experiment_id: 1,
    points: { loss: [[9, 0.2, 90]] },
    ...(truncated ? { truncated } : {}),
  });

  it("applies a whole batch's points to the cached run", () => {
    const qc = new QueryClient();
    qc.setQueryData(queryKeys.run("a"), run("a"));
    applyRunMetrics(qc, "a", event(false));
    expect(qc.getQueryData<Run>(queryKeys.run("a"))?.metrics.loss?.count).toBe(7);
    expect(qc.getQueryState(queryKeys.run("a"))?.isInvalidated).toBe(false);
  });

  it("reads the run again when the batch was truncated to its latest points", () => {
    const qc = new QueryClient();
    qc.setQueryData(queryKeys.run("a"), run("a"));
    applyRunMetrics(qc, "a", event(true));
    // The count would be wrong by every point left out: the server's summary is read instead.
    expect(qc.getQueryData<Run>(queryKeys.run("a"))?.metrics.loss?.count).toBe(6);
    expect(qc.getQueryState(queryKeys.run("a"))?.isInvalidated).toBe(true);
  });
});
