// Run detail: status, times, notes, params, tags (user and MLflow system ones apart),
// nested runs and live metric charts (one per key unless the user chose panels). Name,
// tags, notes and deletion are editable when the caller's role allows.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { ApiError, getExperiment } from "../../api/client";
import { runQuery } from "../../api/queries";
import type { LiveEvent, Run } from "../../api/types";
import { ChartControls } from "../../components/ChartControls";
import { formatDuration, formatTime } from "../../components/format";
import { EditableTitle } from "../../components/EditableTitle";
import { StatusBadge } from "../../components/StatusBadge";
import { WhenVisible } from "../../components/WhenVisible";
import { applyRunMetrics, queryKeys } from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { NOTE_TAG, parentRunId, runDisplayName, runSource, runUser, splitTags } from "../../mlflowTags";
import { Link, navigate, useLocation } from "../../router";
import {
  parseChartView,
  queryString,
  writeChartView,
  type ChartView,
} from "../../state/urlState";
import { drawnPanels, encodePanels, parsePanels, resolvePanels, writePanels, type Panel } from "../../state/panels";
import { RunTabBar, RunTabPanel } from "../artifacts/RunTabs";
import { parseRunTab } from "../artifacts/tabs";
import { useCanEdit } from "../editing/permissions";
import { PanelChooser } from "../panels/PanelChooser";
import { RunPanelChart } from "../panels/RunPanelChart";
import { useDeleteRuns, useRenameRun, useRestoreRuns } from "../editing/runEdits";
import { NestedRuns } from "./NestedRuns";
import { NotesEditor } from "./NotesEditor";
import { TagEditor } from "./TagEditor";

function KeyValues({ title, values }: { title: string; values: Record<string, string> }) {
  const entries = Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section>
      <h2>
        {title} <span className="muted">({entries.length})</span>
      </h2>
      {entries.length === 0 ? (
        <p className="muted">none</p>
      ) : (
        <table className="plain kv" data-testid={`${title.toLowerCase()}-table`}>
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export default function RunPage({ runId }: { runId: string }) {
  const location = useLocation();
  const queryClient = useQueryClient();
  const poll = usePollInterval();
  const view = useMemo(() => parseChartView(location.search), [location.search]);
  const setView = useCallback(
    (next: ChartView) => {
      const params = new URLSearchParams(location.search);
      for (const k of ["x", "smooth", "log", "zoom"]) params.delete(k);
      navigate(location.pathname + queryString(writeChartView(params, next)), { replace: true });
    },
    [location],
  );
  const chosenPanels = useMemo(() => parsePanels(location.search), [location.search]);
  const setPanels = useCallback(
    (next: Panel[] | null) => {
      const params = writePanels(new URLSearchParams(location.search), next);
      navigate(location.pathname + queryString(params), { replace: true });
    },
    [location],
  );

  const runResult = useQuery({
    ...runQuery(runId),
    refetchInterval: (q) => (q.state.data?.status === "RUNNING" ? poll : false),
  });
  const run = runResult.data;
  const rename = useRenameRun();
  const deleteRuns = useDeleteRuns();
  const restoreRuns = useRestoreRuns();
  const experiment = useQuery({
    queryKey: ["experiment", run?.experiment_id],
    queryFn: ({ signal }) => getExperiment(run?.experiment_id ?? 0, signal),
    enabled: run !== undefined,
    staleTime: 300_000,
  });
  const canEdit = useCanEdit(experiment.data?.project_id);

  useLiveEvents({ run_id: runId }, (event: LiveEvent) => {
    if (event.event === "metrics") {
      applyRunMetrics(queryClient, runId, event);
    } else if (event.run.id === runId) {
      queryClient.setQueryData<Run>(queryKeys.run(runId), event.run);
    }
  });

  if (runResult.error) {
    const notFound = runResult.error instanceof ApiError && runResult.error.status === 404;
    return (
      <main>
        <div className="error-banner">{notFound ? `Run ${runId} not found.` : runResult.error.message}</div>
      </main>
    );
  }
  if (!run) return <main className="muted">Loading run…</main>;

  const keys = Object.keys(run.metrics).sort();
  const panels = resolvePanels(chosenPanels, keys);
  const tags = splitTags(run.tags);
  const source = runSource(run);
  const parent = parentRunId(run);
  const deleted = run.lifecycle_stage === "deleted";
  const tab = parseRunTab(location.search);
  return (
    <main data-testid="run-page">
      <div className="crumbs">
        <Link to="/">Experiments</Link>/
        <Link to={`/experiments/${run.experiment_id}`}>
          {experiment.data?.name ?? `experiment ${run.experiment_id}`}
        </Link>
        /
      </div>
      <EditableTitle
        value={runDisplayName(run)}
        what="run"
        canEdit={canEdit && !deleted}
        maxLength={250}
        onSave={(name) => rename.mutate({ runId: run.id, name })}
      >
        <StatusBadge status={run.status} />
        {deleted ? <span className="status deleted">DELETED</span> : null}
      </EditableTitle>
      {canEdit ? (
        <div className="toolbar">
          {deleted ? (
            <button type="button" onClick={() => restoreRuns.mutate({ runIds: [run.id] })}>
              Restore run
            </button>
          ) : (
            <button
              type="button"
              className="danger"
              onClick={() => deleteRuns.mutate({ runIds: [run.id], label: runDisplayName(run) })}
            >
              Delete run
            </button>
          )}
        </div>
      ) : null}
      <dl className="meta">
        <div className="wide">
          <dt>run id</dt>
          <dd>{run.id}</dd>
        </div>
        <div>
          <dt>started</dt>
          <dd>{formatTime(run.start_time)}</dd>
        </div>
        <div>
          <dt>ended</dt>
          <dd>{formatTime(run.end_time)}</dd>
        </div>
        <div>
          <dt>duration</dt>
          <dd>{formatDuration(run.start_time, run.end_time)}</dd>
        </div>
        <div>
          <dt>user</dt>
          <dd>{runUser(run) || "—"}</dd>
        </div>
        {source ? (
          <div className="wide" data-testid="run-source">
            <dt>source</dt>
            <dd>
              {[source.type, source.name].filter(Boolean).join(" ")}
              {source.commit ? ` @ ${source.commit.slice(0, 12)}` : ""}
              {source.branch ? ` (${source.branch})` : ""}
            </dd>
          </div>
        ) : null}
        {parent ? (
          <div>
            <dt>parent run</dt>
            <dd>
              <Link to={`/runs/${encodeURIComponent(parent)}`} data-testid="parent-link">
                {parent.slice(0, 12)}
              </Link>
            </dd>
          </div>
        ) : null}
        <div>
          <dt>compare</dt>
          <dd>
            <Link to={`/compare?runs=${run.id}`}>open in compare</Link>
          </dd>
        </div>
      </dl>
      <RunTabBar tab={tab} />
      {tab !== "overview" ? (
        <RunTabPanel runId={run.id} tab={tab} running={run.status === "RUNNING"} />
      ) : (
      <>
      <NotesEditor runId={run.id} note={run.tags[NOTE_TAG] ?? ""} canEdit={canEdit && !deleted} />
      <NestedRuns run={run} />
      <h2>
        Metrics <span className="muted">({keys.length})</span>
      </h2>
      <ChartControls view={view} onChange={setView} xMetrics={keys} />
      {keys.length === 0 ? (
        <p className="muted">No metrics logged yet.</p>
      ) : (
        <>
          <PanelChooser keys={keys} panels={panels} isDefault={chosenPanels === null} onChange={setPanels} />
          <div className="charts">
            {drawnPanels(panels, keys).map((p) => (
              <WhenVisible key={encodePanels([p])} minHeight={300}>
                <RunPanelChart run={run} panel={p} view={view} setView={setView} />
              </WhenVisible>
            ))}
          </div>
        </>
      )}
      <div className="columns">
        <KeyValues title="Params" values={run.params} />
        <TagEditor runId={run.id} tags={tags.user} canEdit={canEdit && !deleted} />
        <KeyValues title="System" values={tags.system} />
      </div>
      </>
      )}
    </main>
  );
}
