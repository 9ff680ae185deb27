// Query options shared by the pages and by the prefetch that starts before a
// page's code has loaded, so both ask for exactly the same keys.
import type { QueryClient } from "@tanstack/react-query";
import { queryKeys } from "../live/cacheUpdates";
import type { Route } from "../router";
import { parseChartView } from "../state/urlState";
import { getMetricHistory, getRun } from "./client";
import type { MetricColumns, Run } from "./types";

/** Points asked per chart: ~4 per pixel column of a wide chart (first/last/min/max). */
export const MAX_POINTS = 2000;

export function runQuery(runId: string) {
  return {
    queryKey: queryKeys.run(runId),
    queryFn: ({ signal }: { signal: AbortSignal }): Promise<Run> => getRun(runId, signal),
  };
}

export function historyQuery(
  runId: string,
  key: string,
  zoom: [number, number] | null,
  maxPoints: number = MAX_POINTS,
) {
  return {
    queryKey: queryKeys.history(runId, key, zoom, maxPoints),
    queryFn: ({ signal }: { signal: AbortSignal }): Promise<MetricColumns> =>
      getMetricHistory(
        runId,
        key,
        { max_points: maxPoints, ...(zoom ? { start_step: zoom[0], end_step: zoom[1] } : {}) },
        signal,
      ),
  };
}

/**
 * Starts the first page's requests while its code is still loading: the run, then
 * every chart's history, instead of one after the other behind the route chunk.
 */
export function prefetchRoute(queryClient: QueryClient, route: Route, search: URLSearchParams) {
  if (route.name !== "run") return;
  const view = parseChartView(search);
  // Errors are swallowed: the page shows them when it asks again.
  const ignore = () => undefined;
  queryClient
    .query(runQuery(route.runId))
    .then((run) => {
      for (const key of Object.keys(run.metrics)) {
        queryClient.query(historyQuery(run.id, key, view.zoom)).catch(ignore);
      }
    })
    .catch(ignore);
}
