// How live events change data already in the query cache. Pure functions here;
// the views call them through queryClient.setQueryData.
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type {
  LiveEvent,
  LivePoint,
  MetricColumns,
  MetricSummary,
  Run,
  RunPage,
} from "../api/types";
import { appendPoints } from "../charts/shape";

export const queryKeys = {
  run: (runId: string) => ["run", runId] as const,
  history: (runId: string, key: string, zoom: [number, number] | null, maxPoints: number) =>
    ["history", runId, key, zoom ? zoom[0] : null, zoom ? zoom[1] : null, maxPoints] as const,
  historyPrefix: (runId: string, key: string) => ["history", runId, key] as const,
  runs: (experimentId: number, filter: string, order: string[] | undefined) =>
    ["runs", experimentId, filter, order ?? []] as const,
  runsPrefix: (experimentId: number) => ["runs", experimentId] as const,
};

/** A run's metric summaries after new points: latest by step, min/max/count widened. */
export function applyPointsToRun(run: Run, points: Record<string, LivePoint[]>): Run {
  const metrics: Record<string, MetricSummary> = { ...run.metrics };
  for (const [key, triples] of Object.entries(points)) {
    let summary = metrics[key];
    for (const [step, value, timestamp] of triples) {
      if (!summary) {
        const finite = Number.isFinite(value);
        summary = {
          value,
          step,
          timestamp,
          min: finite ? value : null,
          max: finite ? value : null,
          count: 1,
        };
        continue;
      }
      const later =
        step > summary.step || (step === summary.step && timestamp >= summary.timestamp);
      const finite = Number.isFinite(value);
      summary = {
        value: later ? value : summary.value,
        step: later ? step : summary.step,
        timestamp: later ? timestamp : summary.timestamp,
        min: finite && (summary.min === null || value < summary.min) ? value : summary.min,
        max: finite && (summary.max === null || value > summary.max) ? value : summary.max,
        count: summary.count + 1,
      };
    }
    if (summary) metrics[key] = summary;
  }
  return { ...run, metrics };
}

/** Replaces or updates runs across the loaded pages; untouched pages keep identity. */
export function updateRunsInPages(
  data: InfiniteData<RunPage>,
  update: (run: Run) => Run | null,
): InfiniteData<RunPage> {
  let changed = false;
  const pages: RunPage[] = [];
  for (const page of data.pages) {
    let runs: Run[] | null = null;
    for (let i = 0; i < page.runs.length; i++) {
      const r = page.runs[i] as Run;
      const next = update(r);
      if (next && next !== r) {
        runs ??= page.runs.slice();
        runs[i] = next;
      }
    }
    if (runs) changed = true;
    pages.push(runs ? { ...page, runs } : page);
  }
  return changed ? { ...data, pages } : data;
}

export function prependRun(
  data: InfiniteData<RunPage>,
  run: Run,
): InfiniteData<RunPage> {
  if (data.pages.some((p) => p.runs.some((r) => r.id === run.id))) return data;
  const [first, ...rest] = data.pages;
  if (!first) return data;
  return { ...data, pages: [{ ...first, runs: [run, ...first.runs] }, ...rest] };
}

/**
 * Appends live points to every cached history of the run's keys, each within its
 * own zoom range. A history that has grown far past its downsampled size is
 * re-fetched instead, so the server downsamples it again, and so is one still
 * loading when the points arrive.
 */
export function applyPointsToHistories(
  queryClient: QueryClient,
  runId: string,
  points: Record<string, LivePoint[]>,
  truncated: boolean,
): void {
  for (const [key, triples] of Object.entries(points)) {
    const prefix = queryKeys.historyPrefix(runId, key);
    if (truncated) {
      void queryClient.invalidateQueries({ queryKey: prefix });
      continue;
    }
    for (const [qkey, data] of queryClient.getQueriesData<MetricColumns>({ queryKey: prefix })) {
      if (!data) {
        // Still loading (a chart just mounted): its answer may predate these points, so
        // ask again; the new request starts after their commit and includes them.
        void queryClient.invalidateQueries({ queryKey: qkey, exact: true });
        continue;
      }
      const lo = qkey[3] as number | null;
      const hi = qkey[4] as number | null;
      const maxPoints = qkey[5] as number;
      const inRange = triples.filter(
        ([s]) => (lo === null || s >= lo) && (hi === null || s <= hi),
      );
      if (inRange.length === 0) continue;
      if (data.steps.length + inRange.length > 3 * maxPoints) {
        void queryClient.invalidateQueries({ queryKey: qkey, exact: true });
      } else {
        queryClient.setQueryData<MetricColumns>(qkey, appendPoints(data, inRange));
      }
    }
  }
}

/**
 * A run topic's metrics event applied to the cached run and its histories. A truncated
 * event (a batch over the server's cap per key) carries each key's latest point only, so
 * the run's summaries and the histories are read again instead.
 */
export function applyRunMetrics(
  queryClient: QueryClient,
  runId: string,
  event: Extract<LiveEvent, { event: "metrics" }>,
): void {
  const truncated = event.truncated === true;
  if (truncated) {
    void queryClient.invalidateQueries({ queryKey: queryKeys.run(runId), exact: true });
  } else {
    queryClient.setQueryData<Run>(queryKeys.run(runId), (old) =>
      old ? applyPointsToRun(old, event.points) : old,
    );
  }
  applyPointsToHistories(queryClient, runId, event.points, truncated);
}
