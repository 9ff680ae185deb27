// Compare runs: parallel coordinates of params against a chosen metric, overlaid metric
// charts (one per key, or the panels the user chose; a line per run, or per group of
// runs with a band), a scatter
// plot, parameter importance and a diff of their params/tags/latest metrics. Each run
// keeps one colour everywhere (legend, charts, scatter, diff, table, parallel
// coordinates); each group one colour on every chart. Runs, metric, axes, grouping,
// scatter axes, the diff switch, chart options and panels are in the URL.
import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { getRun } from "../../api/client";
import type { Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { buildParallel, metricKeys, variedParams } from "../../charts/parallel";
import { ParallelCoords } from "../../charts/ParallelCoords";
import { ChartControls } from "../../components/ChartControls";
import { formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { WhenVisible } from "../../components/WhenVisible";
import { applyRunMetrics, queryKeys } from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { runDisplayName, splitTags } from "../../mlflowTags";
import { Link, navigate, useLocation } from "../../router";
import {
  parseCompareView,
  queryString,
  serializeCompareView,
  type ChartView,
  type CompareView,
} from "../../state/urlState";
import { columnId, parseColumnId, type ColumnRef } from "../../state/identifiers";
import { groupRuns } from "../analysis/grouping";
import { ImportancePanel } from "../analysis/ImportancePanel";
import { ScatterPanel } from "../analysis/ScatterPanel";
import { drawnPanels, encodePanels, resolvePanels } from "../../state/panels";
import { PanelChooser } from "../panels/PanelChooser";
import { CompareChart, type ChartGroups } from "./CompareChart";
import { preloadRuns } from "./preloadRuns";
import { RunDiff } from "./RunDiff";

/** What runs can be grouped by: every param, every user tag, status and user. */
function groupChoices(runs: readonly Run[]): ColumnRef[] {
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params)) params.add(k);
    for (const k of Object.keys(splitTags(r.tags).user)) tags.add(k);
  }
  return [
    ...[...params].sort().map((key): ColumnRef => ({ kind: "params", key })),
    ...[...tags].sort().map((key): ColumnRef => ({ kind: "tags", key })),
    { kind: "attributes", key: "status" },
    { kind: "attributes", key: "user" },
  ];
}

const runLabel = runDisplayName;

function LiveRun({ runId }: { runId: string }) {
  const queryClient = useQueryClient();
  useLiveEvents({ run_id: runId }, (event) => {
    if (event.event === "metrics") {
      applyRunMetrics(queryClient, runId, event);
    } else if (event.run.id === runId) {
      queryClient.setQueryData<Run>(queryKeys.run(runId), event.run);
    }
  });
  return null;
}

export default function ComparePage() {
  const location = useLocation();
  const view = useMemo(() => parseCompareView(location.search), [location.search]);
  const setCompare = useCallback(
    (next: CompareView) =>
      navigate(location.pathname + queryString(serializeCompareView(next)), { replace: true }),
    [location.pathname],
  );
  const setView = useCallback(
    (chart: ChartView) => setCompare({ ...view, ...chart }),
    [view, setCompare],
  );
  const poll = usePollInterval();
  const queryClient = useQueryClient();

  // Most runs arrive through a few searches first; each run's query then finds its data
  // fresh in the cache, and only fetches those the searches did not bring.
  const preload = useQuery({
    queryKey: ["compare-preload", view.runs.join(",")],
    queryFn: async ({ signal }) => {
      await preloadRuns(queryClient, view.runs, signal);
      return true;
    },
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
  const runQueries = useQueries({
    queries: view.runs.map((id) => ({
      queryKey: queryKeys.run(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => getRun(id, signal),
      enabled: !preload.isPending,
      refetchInterval: poll,
    })),
  });
  const runsKey = runQueries.map((q) => q.dataUpdatedAt).join(",");
  const runs = useMemo(
    () => runQueries.map((q) => q.data).filter((r): r is Run => r !== undefined),
    // runsKey changes whenever any run does
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [runsKey],
  );
  const errors = runQueries.filter((q) => q.error).map((q) => q.error?.message ?? "");
  // Charts ask for their data once every run is known: each answer covers all the runs
  // (and their groups), so asking as runs arrive would ask again for each one.
  const runsSettled = runQueries.every((q) => !q.isPending);
  const colors = useMemo(
    () => new Map(view.runs.map((id, i) => [id, seriesColor(i)])),
    [view.runs],
  );

  const keys = useMemo(() => metricKeys(runs), [runs]);
  const panels = useMemo(() => resolvePanels(view.panels, keys), [view.panels, keys]);
  const allParams = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) for (const k of Object.keys(r.params)) s.add(k);
    return [...s].sort();
  }, [runs]);
  const axes = view.params ?? variedParams(runs);
  const metric = view.metric ?? keys[0] ?? null;
  const parallel = useMemo(() => buildParallel(runs, axes, metric), [runs, axes, metric]);
  const lineColors = useMemo(
    () => runs.map((r) => colors.get(r.id) ?? seriesColor(0)),
    [runs, colors],
  );
  const groupBy = view.group;
  const grouping = useMemo(
    (): ChartGroups | null =>
      groupBy ? { label: groupBy.key, groups: groupRuns(runs, groupBy), band: view.band } : null,
    [runs, groupBy, view.band],
  );

  if (view.runs.length === 0) {
    return (
      <main>
        <h1>Compare runs</h1>
        <p className="muted">
          No runs selected. Pick runs in an <Link to="/">experiment</Link>’s table.
        </p>
      </main>
    );
  }

  return (
    <main data-testid="compare-page">
      {view.runs.map((id) => (
        <LiveRun key={id} runId={id} />
      ))}
      <h1>Compare {view.runs.length} runs</h1>
      {errors.length ? <div className="error-banner">{errors.join("; ")}</div> : null}
      <div className="legend" data-testid="compare-legend">
        {runs.map((r) => (
          <span key={r.id}>
            <span className="swatch" style={{ background: colors.get(r.id) }} />
            <Link to={`/runs/${r.id}`}>{runLabel(r)}</Link> <StatusBadge status={r.status} />{" "}
            <button
              type="button"
              aria-label={`Remove ${runLabel(r)}`}
              onClick={() => setCompare({ ...view, runs: view.runs.filter((x) => x !== r.id) })}
            >
              ×
            </button>
          </span>
        ))}
      </div>

      <h2>Params → metric</h2>
      <div className="toolbar">
        <label>
          metric{" "}
          <select
            aria-label="Parallel coordinates metric"
            value={metric ?? ""}
            onChange={(e) => setCompare({ ...view, metric: e.target.value || null })}
          >
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">axes:</span>
        {allParams.map((p) => (
          <label key={p}>
            <input
              type="checkbox"
              checked={axes.includes(p)}
              onChange={() =>
                setCompare({
                  ...view,
                  params: axes.includes(p) ? axes.filter((a) => a !== p) : [...axes, p],
                })
              }
            />{" "}
            <span className="mono">{p}</span>
          </label>
        ))}
      </div>
      <div className="pc-wrap">
        {parallel.axes.length > 0 ? (
          // Its legend is the table right under it: each run's swatch, name and values.
          <ParallelCoords data={parallel} lineColors={lineColors} />
        ) : (
          <p className="muted">No params or metrics to plot.</p>
        )}
      </div>
      <table className="plain" data-testid="compare-table">
        <thead>
          <tr>
            <th>Run</th>
            {axes.map((p) => (
              <th key={p}>{p}</th>
            ))}
            {metric ? <th>{metric} (latest)</th> : null}
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>
                <span className="swatch" style={{ background: colors.get(r.id) }} />
                {runLabel(r)}
              </td>
              {axes.map((p) => (
                <td key={p} className="mono">
                  {r.params[p] ?? "—"}
                </td>
              ))}
              {metric ? <td className="mono">{formatValue(r.metrics[metric]?.value)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Metrics</h2>
      <ChartControls view={view} onChange={setView} xMetrics={keys} />
      <div className="toolbar" data-testid="group-controls">
        <label>
          group by{" "}
          <select
            aria-label="Group by"
            value={view.group ? columnId(view.group) : ""}
            onChange={(e) => setCompare({ ...view, group: parseColumnId(e.target.value) })}
          >
            <option value="">— one line per run —</option>
            {groupChoices(runs).map((c) => (
              <option key={columnId(c)} value={columnId(c)}>
                {columnId(c)}
              </option>
            ))}
          </select>
        </label>
        {view.group ? (
          <label>
            band{" "}
            <select
              aria-label="Band"
              value={view.band}
              onChange={(e) => setCompare({ ...view, band: e.target.value === "std" ? "std" : "minmax" })}
            >
              <option value="minmax">min–max</option>
              <option value="std">±1 std</option>
            </select>
          </label>
        ) : null}
      </div>
      {grouping ? (
        <div className="legend" data-testid="group-legend">
          {grouping.groups.map((g, i) => (
            <span key={g.name} data-group={g.name}>
              <span className="swatch" style={{ background: seriesColor(i) }} />
              {grouping.label}={g.name}{" "}
              <span className="muted">
                ({g.runIds.length} {g.runIds.length === 1 ? "run" : "runs"})
              </span>
            </span>
          ))}
        </div>
      ) : null}
      <PanelChooser
        keys={keys}
        panels={panels}
        isDefault={view.panels === null}
        onChange={(next) => setCompare({ ...view, panels: next })}
      />
      <div className="charts">
        {drawnPanels(panels, keys).map((p) => (
          <WhenVisible key={encodePanels([p])} minHeight={300}>
            <CompareChart
              panel={p}
              runs={runs}
              colors={colors}
              grouping={grouping}
              ready={runsSettled}
              view={view}
              setView={setView}
            />
          </WhenVisible>
        ))}
      </div>

      <ScatterPanel
        runs={runs}
        colors={colors}
        x={view.scatterX}
        y={view.scatterY}
        onChange={(scatterX, scatterY) => setCompare({ ...view, scatterX, scatterY })}
      />
      <ImportancePanel runs={runs} metric={metric} />

      <RunDiff
        runs={runs}
        colors={colors}
        onlyDifferences={view.diffOnly}
        onToggle={(diffOnly) => setCompare({ ...view, diffOnly })}
      />
    </main>
  );
}
