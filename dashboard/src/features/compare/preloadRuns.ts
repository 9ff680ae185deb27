// The compared runs in a few requests instead of one each: the first run names its
// experiment, and searches of that experiment by run id (200 ids a search, well within
// the filter's length bound) bring the others into the query cache under their own run
// keys. Runs of other experiments, or ids a search cannot name, are left to each run's
// own query, which the page starts once this is done.
import type { QueryClient } from "@tanstack/react-query";
import { getRun, searchRuns } from "../../api/client";
import { queryKeys } from "../../live/cacheUpdates";

const IDS_PER_SEARCH = 200;
// The run id alphabet (MLflow's, ASCII): such an id needs no escaping inside quotes.
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,255}$/;

/** A search filter for these runs (ids outside the run id alphabet are left out). */
export function runIdFilter(ids: readonly string[]): string {
  const quoted = ids.filter((id) => RUN_ID.test(id)).map((id) => `'${id}'`);
  return `attributes.run_id IN (${quoted.join(", ")})`;
}

export async function preloadRuns(client: QueryClient, ids: readonly string[], signal: AbortSignal): Promise<void> {
  const [firstId, ...rest] = ids;
  if (firstId === undefined) return;
  const first = await getRun(firstId, signal);
  client.setQueryData(queryKeys.run(first.id), first);
  const wanted = rest.filter((id) => RUN_ID.test(id));
  const chunks: string[][] = [];
  for (let i = 0; i < wanted.length; i += IDS_PER_SEARCH) chunks.push(wanted.slice(i, i + IDS_PER_SEARCH));
  const pages = await Promise.all(
    chunks.map((chunk) =>
      searchRuns(
        {
          experiment_ids: [first.experiment_id],
          filter: runIdFilter(chunk),
          lifecycle_stage: "all",
          limit: IDS_PER_SEARCH,
        },
        signal,
      ),
    ),
  );
  for (const page of pages) for (const run of page.runs) client.setQueryData(queryKeys.run(run.id), run);
}
