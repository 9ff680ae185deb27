// Query options shared by the pages and by the prefetch that starts before a
// page's code has loaded (and the requests boot.ts starts before that), so all ask
// for exactly the same keys.
import type { QueryClient } from "@tanstack/react-query";
import { queryKeys } from "../live/cacheUpdates";
import type { Route } from "../router";
import { parseChartView } from "../state/urlState";
import { getMetricHistory, getRun } from "./client";
import type { MetricColumns, Run } from "./types";

/** Points asked per chart: ~4 per pixel column of a wide chart (first/last/min/max). */
export const MAX_POINTS = 2000;

// Requests boot.ts started before React and the app's modules were evaluated, by query
// key; the query that asks for the same key first takes the answer over.
const started = new Map<string, { at: number; answer: Promise<unknown> }>();
/** An answer started longer ago than this is not taken over (the page has moved on). */
const STARTED_TTL_MS = 10_000;

function startedOr<T>(queryKey: readonly unknown[], ask: () => Promise<T>): Promise<T> {
  const id = JSON.stringify(queryKey);
  const early = started.get(id);
  started.delete(id);
  return early && performance.now() - early.at < STARTED_TTL_MS ? (early.answer as Promise<T>) : ask();
}

function start<T>(query: Query<T>): Promise<T> {
  const answer = query.queryFn({ signal: new AbortController().signal });
  started.set(JSON.stringify(query.queryKey), { at: performance.now(), answer });
  return answer;
}

export function runQuery(runId: string) {
  const queryKey = queryKeys.run(runId);
  return {
    queryKey,
    queryFn: ({ signal }: { signal: AbortSignal }): Promise<Run> =>
      startedOr(queryKey, () => getRun(runId, signal)),
  };
}

export function historyQuery(
  runId: string,
  key: string,
  zoom: [number, number] | null,
  maxPoints: number = MAX_POINTS,
) {
  const queryKey = queryKeys.history(runId, key, zoom, maxPoints);
  return {
    queryKey,
    queryFn: ({ signal }: { signal: AbortSignal }): Promise<MetricColumns> =>
      startedOr(queryKey, () =>
        getMetricHistory(
          runId,
          key,
          { max_points: maxPoints, ...(zoom ? { start_step: zoom[0], end_step: zoom[1] } : {}) },
          signal,
        ),
      ),
  };
}

interface Query<T> {
  queryKey: readonly unknown[];
  queryFn: (context: { signal: AbortSignal }) => Promise<T>;
}

/** Asks for a query's answer; the same for the run and the history queries. */
type Ask = <T>(query: Query<T>) => Promise<T>;

/** The first page's requests, in the order they depend on each other: the run, then
 * every chart's history. Errors are swallowed: the page shows them when it asks again. */
function askRoute(route: Route, search: URLSearchParams, ask: Ask): void {
  if (route.name !== "run") return;
  const view = parseChartView(search);
  const ignore = () => undefined;
  ask(runQuery(route.runId))
    .then((run) => {
      for (const key of Object.keys(run.metrics)) {
        ask(historyQuery(run.id, key, view.zoom)).catch(ignore);
      }
    })
    .catch(ignore);
}

/**
 * Puts the first page's data in the query cache while its code is still loading,
 * instead of one request after the other behind the route chunk.
 */
export function prefetchRoute(queryClient: QueryClient, route: Route, search: URLSearchParams) {
  askRoute(route, search, (query) => queryClient.query(query));
}

/**
 * Starts the first page's requests as soon as the entry script runs (boot.ts), before
 * React and the app's modules are evaluated and the first render; prefetchRoute's
 * queries then take them over.
 */
export function startRouteRequests(route: Route, search: URLSearchParams): void {
  askRoute(route, search, start);
}
