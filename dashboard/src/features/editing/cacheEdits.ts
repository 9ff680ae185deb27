// Optimistic edits of cached runs and experiments: apply a change to every cached copy
// (the run's own query, every loaded runs-table page; the experiment and experiment
// lists) and hand back a function that puts the snapshots back if the server refuses.
import type { InfiniteData, QueryClient, QueryKey } from "@tanstack/react-query";
import type { Experiment, ExperimentPage, Run, RunPage } from "../../api/types";
import { queryKeys, updateRunsInPages } from "../../live/cacheUpdates";

export type Rollback = () => void;

const RUNS_ROOT = ["runs"] as const;
const EXPERIMENT_ROOT = ["experiment"] as const;
const EXPERIMENTS_ROOT = ["experiments"] as const;

function snapshot(queryClient: QueryClient, keys: readonly QueryKey[]): Rollback {
  const saved: [QueryKey, unknown][] = [];
  for (const key of keys) saved.push(...queryClient.getQueriesData({ queryKey: key }));
  return () => {
    for (const [key, data] of saved) queryClient.setQueryData(key, data);
  };
}

/** Stops reads in flight that would overwrite the optimistic copy with older data. */
export async function cancelRunReads(queryClient: QueryClient, runIds: readonly string[]) {
  await Promise.all([
    queryClient.cancelQueries({ queryKey: RUNS_ROOT }),
    ...runIds.map((id) => queryClient.cancelQueries({ queryKey: queryKeys.run(id) })),
  ]);
}

/** Applies `update` to the given runs wherever they are cached; returns the undo. */
export function patchRuns(
  queryClient: QueryClient,
  runIds: readonly string[],
  update: (run: Run) => Run,
): Rollback {
  const rollback = snapshot(queryClient, [RUNS_ROOT, ...runIds.map((id) => queryKeys.run(id))]);
  const ids = new Set(runIds);
  for (const id of runIds) {
    queryClient.setQueryData<Run>(queryKeys.run(id), (old) => (old ? update(old) : old));
  }
  queryClient.setQueriesData<InfiniteData<RunPage>>({ queryKey: RUNS_ROOT }, (old) =>
    old?.pages ? updateRunsInPages(old, (r) => (ids.has(r.id) ? update(r) : r)) : old,
  );
  return rollback;
}

/** Puts the server's answer for a run into every cached copy. */
export function storeRun(queryClient: QueryClient, run: Run): void {
  patchRuns(queryClient, [run.id], () => run);
}

function updateExperimentPages(
  data: InfiniteData<ExperimentPage>,
  id: number,
  update: (e: Experiment) => Experiment,
): InfiniteData<ExperimentPage> {
  return {
    ...data,
    pages: data.pages.map((p) => ({
      ...p,
      experiments: p.experiments.map((e) => (e.id === id ? update(e) : e)),
    })),
  };
}

export function patchExperiment(
  queryClient: QueryClient,
  id: number,
  update: (e: Experiment) => Experiment,
): Rollback {
  const rollback = snapshot(queryClient, [[...EXPERIMENT_ROOT, id], EXPERIMENTS_ROOT]);
  queryClient.setQueryData<Experiment>([...EXPERIMENT_ROOT, id], (old) =>
    old ? update(old) : old,
  );
  queryClient.setQueriesData<InfiniteData<ExperimentPage>>(
    { queryKey: EXPERIMENTS_ROOT },
    (old) => (old?.pages ? updateExperimentPages(old, id, update) : old),
  );
  return rollback;
}

export async function cancelExperimentReads(queryClient: QueryClient, id: number) {
  await Promise.all([
    queryClient.cancelQueries({ queryKey: [...EXPERIMENT_ROOT, id] }),
    queryClient.cancelQueries({ queryKey: EXPERIMENTS_ROOT }),
  ]);
}
