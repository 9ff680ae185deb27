// Compare runs: parallel coordinates of params against a chosen metric, one overlaid
// chart per metric key, and a diff of their params/tags/latest metrics. Each run keeps
// one colour everywhere (legend, charts, diff, table, parallel coordinates). Runs,
// metric, axes, the diff switch and chart options are in the URL.
import { keepPreviousData, useQueries, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { getMetricHistory, getRun } from "../../api/client";
import type { MetricColumns, Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { MetricChart } from "../../charts/MetricChart";
import { buildParallel, metricKeys, variedParams } from "../../charts/parallel";
import { ParallelCoords } from "../../charts/ParallelCoords";
import { alignSeries, shapeSeries, stepRangeFor } from "../../charts/shape";
import { ChartControls } from "../../components/ChartControls";
import { formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { WhenVisible } from "../../components/WhenVisible";
import { applyPointsToHistories, applyPointsToRun, queryKeys } from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { runDisplayName } from "../../mlflowTags";
import { Link, navigate, useLocation } from "../../router";
import {
  parseCompareView,
  queryString,
  serializeCompareView,
  type ChartView,
  type CompareView,
} from "../../state/urlState";
import { RunDiff } from "./RunDiff";

const MAX_POINTS = 1000;

const runLabel = runDisplayName;

function LiveRun({ runId }: { runId: string }) {
  const queryClient = useQueryClient();
  useLiveEvents({ run_id: runId }, (event) => {
    if (event.event === "metrics") {
      queryClient.setQueryData<Run>(queryKeys.run(runId), (old) =>
        old ? applyPointsToRun(old, event.points) : old,
      );
      applyPointsToHistories(queryClient, runId, event.points, event.truncated === true);
    } else if (event.run.id === runId) {
      queryClient.setQueryData<Run>(queryKeys.run(runId), event.run);
    }
  });
  return null;
}

function CompareChart({
  metricKey,
  runs,
  colors,
  view,
  setView,
}: {
  metricKey: string;
  runs: Run[];
  colors: Map<string, string>;
  view: ChartView;
  setView: (v: ChartView) => void;
}) {
  const poll = usePollInterval();
  const withKey = runs.filter((r) => metricKey in r.metrics);
  const histories = useQueries({
    queries: withKey.map((run) => ({
      queryKey: queryKeys.history(run.id, metricKey, view.zoom, MAX_POINTS),
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        getMetricHistory(
          run.id,
          metricKey,
          {
            max_points: MAX_POINTS,
            ...(view.zoom ? { start_step: view.zoom[0], end_step: view.zoom[1] } : {}),
          },
          signal,
        ),
      placeholderData: keepPreviousData,
      refetchInterval: run.status === "RUNNING" ? poll : (false as const),
    })),
  });
  const loaded = histories
    .map((h, i) => ({ data: h.data, run: withKey[i] }))
    .filter((h): h is { data: MetricColumns; run: Run } => h.data !== undefined && h.run !== undefined);
  const dataKey = histories.map((h) => h.dataUpdatedAt).join(",");

  const shaped = useMemo(() => {
    if (loaded.length === 0) return null;
    const opts = { axis: view.x, smoothing: view.smoothing, log: view.log };
    return {
      data: alignSeries(loaded.map((h) => shapeSeries(h.data, opts))),
      series: loaded.map((h) => ({
        label: runLabel(h.run),
        color: colors.get(h.run.id) ?? seriesColor(0),
      })),
    };
    // dataKey changes whenever any history does
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dataKey, view.x, view.smoothing, view.log, colors]);

  const first = loaded[0]?.data;
  const onZoom = (min: number, max: number) => {
    if (!first) return;
    const range = stepRangeFor(first, view.x, min, max);
    if (range) setView({ ...view, zoom: range });
  };

  return (
    <div className="chart-card" data-testid="metric-chart" data-key={metricKey}>
      <div className="chart-title">
        <span>{metricKey}</span>
        <span className="muted" data-testid="chart-summary">
          {view.smoothing > 0 ? `smoothed ${view.smoothing} · ` : ""}
          {withKey.length} of {runs.length} runs log it · x: {view.x}
        </span>
      </div>
      {shaped ? (
        <MetricChart
          data={shaped.data}
          series={shaped.series}
          axis={view.x}
          log={view.log}
          onZoom={onZoom}
          onResetZoom={() => setView({ ...view, zoom: null })}
        />
      ) : (
        <div className="chart-box placeholder">loading…</div>
      )}
    </div>
  );
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

  const runQueries = useQueries({
    queries: view.runs.map((id) => ({
      queryKey: queryKeys.run(id),
      queryFn: ({ signal }: { signal: AbortSignal }) => getRun(id, signal),
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
  const colors = useMemo(
    () => new Map(view.runs.map((id, i) => [id, seriesColor(i)])),
    [view.runs],
  );

  const keys = useMemo(() => metricKeys(runs), [runs]);
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
      <ChartControls view={view} onChange={setView} />
      <div className="charts">
        {keys.map((k) => (
          <WhenVisible key={k} minHeight={300}>
            <CompareChart metricKey={k} runs={runs} colors={colors} view={view} setView={setView} />
          </WhenVisible>
        ))}
      </div>

      <RunDiff
        runs={runs}
        colors={colors}
        onlyDifferences={view.diffOnly}
        onToggle={(diffOnly) => setCompare({ ...view, diffOnly })}
      />
    </main>
  );
}
