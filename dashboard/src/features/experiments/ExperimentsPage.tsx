// Experiments list with name search, run counts (from the list) and last activity.
// `?deleted=1` lists the deleted experiments instead, each with a Restore button.
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { listExperiments } from "../../api/client";
import type { Experiment } from "../../api/types";
import { formatRelative, formatTime } from "../../components/format";
import { usePollInterval } from "../../live/LiveProvider";
import { Link, navigate, useLocation } from "../../router";
import { useRestoreExperiment } from "../editing/experimentEdits";
import { useEditPermission } from "../editing/permissions";

/** Run counts, as the list gives them: one request for the page, not one per experiment. */
function RunCount({ experiment }: { experiment: Experiment }) {
  const running = experiment.active_run_count;
  return (
    <td className="mono" data-testid="run-count">
      {experiment.run_count ?? "…"}
      {running ? <span className="muted"> ({running} running)</span> : null}
    </td>
  );
}

function pageUrl(q: string, deleted: boolean): string {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (deleted) params.set("deleted", "1");
  const qs = params.toString();
  return qs ? `/?${qs}` : "/";
}

export default function ExperimentsPage() {
  const location = useLocation();
  const applied = location.search.get("q") ?? "";
  const showDeleted = location.search.get("deleted") === "1";
  const stage = showDeleted ? "deleted" : "active";
  const canEdit = useEditPermission();
  const restore = useRestoreExperiment();

  const [draft, setDraft] = useState(applied);
  const poll = usePollInterval();

  useEffect(() => {
    if (draft === applied) return;
    const t = setTimeout(() => {
      navigate(pageUrl(draft, showDeleted), { replace: true });
    }, 200);
    return () => clearTimeout(t);
  }, [draft, applied, showDeleted]);

  const experiments = useInfiniteQuery({
    queryKey: ["experiments", applied, stage],
    queryFn: ({ pageParam, signal }) =>
      listExperiments(
        { name: applied, limit: 200, page_token: pageParam, lifecycle_stage: stage },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_page_token ?? undefined,
    placeholderData: keepPreviousData,
    refetchInterval: poll,
  });
  const list = useMemo(
    () =>
      (experiments.data?.pages.flatMap((p) => p.experiments) ?? []).filter(
        // One deleted or restored a moment ago has left this list.
        (e) => e.lifecycle_stage === stage,
      ),
    [experiments.data, stage],
  );

  return (
    <main data-testid="experiments-page">
      <h1>Experiments</h1>
      <div className="toolbar">
        <input
          type="search"
          aria-label="Search experiments by name"
          placeholder="Search by name"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          style={{ minWidth: "18rem" }}
        />
        <span className="muted">
          {experiments.isPending ? "loading…" : `${list.length}${experiments.hasNextPage ? "+" : ""} experiments`}
        </span>
        <label className="check">
          <input
            type="checkbox"
            checked={showDeleted}
            onChange={() => navigate(pageUrl(applied, !showDeleted), { replace: true })}
          />
          deleted experiments
        </label>
      </div>
      {experiments.error ? <div className="error-banner">{experiments.error.message}</div> : null}
      <table className="plain" data-testid="experiments-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>ID</th>
            <th>Runs</th>
            <th>Last activity</th>
            <th>Created</th>
            <th>Tags</th>
            {showDeleted && canEdit() ? <th /> : null}
          </tr>
        </thead>
        <tbody>
          {list.map((e) => {
            const last = e.last_activity_time ?? e.last_update_time;
            return (
              <tr key={e.id} data-experiment-id={e.id}>
                <td>
                  <Link to={`/experiments/${e.id}`}>{e.name}</Link>
                </td>
                <td className="mono">{e.id}</td>
                <RunCount experiment={e} />
                <td title={formatTime(last)}>{formatRelative(last)}</td>
                <td>{formatTime(e.creation_time)}</td>
                <td className="mono muted">
                  {Object.entries(e.tags)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(", ")}
                </td>
                {showDeleted && canEdit() ? (
                  <td>
                    {canEdit(e.project_id) ? (
                      <button type="button" onClick={() => restore.mutate({ id: e.id })}>
                        Restore
                      </button>
                    ) : null}
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      {experiments.hasNextPage ? (
        <button
          type="button"
          disabled={experiments.isFetchingNextPage}
          onClick={() => void experiments.fetchNextPage()}
        >
          Load more
        </button>
      ) : null}
      {!experiments.isPending && list.length === 0 ? (
        <p className="muted">
          {applied ? `No experiment name contains “${applied}”.` : "No experiments yet."}
        </p>
      ) : null}
    </main>
  );
}
