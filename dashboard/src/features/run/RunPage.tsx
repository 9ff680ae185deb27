// Run detail: status, times, params, tags and one live chart per metric key.
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { ApiError, getExperiment } from "../../api/client";
import { historyQuery, runQuery } from "../../api/queries";
import type { LiveEvent, Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { MetricChart, type ChartSeries } from "../../charts/MetricChart";
import { alignSeries, shapeSeries, stepRangeFor, type Aligned } from "../../charts/shape";
import { ChartControls } from "../../components/ChartControls";
import { formatDuration, formatTime, formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { WhenVisible } from "../../components/WhenVisible";
import { applyPointsToHistories, applyPointsToRun, queryKeys } from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { Link, navigate, useLocation } from "../../router";
import {
  parseChartView,
  queryString,
  writeChartView,
  type ChartView,
} from "../../state/urlState";

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

function MetricPanel({
  run,
  metricKey,
  view,
  setView,
}: {
  run: Run;
  metricKey: string;
  view: ChartView;
  setView: (v: ChartView) => void;
}) {
  const poll = usePollInterval();
  const history = useQuery({
    ...historyQuery(run.id, metricKey, view.zoom),
    placeholderData: keepPreviousData,
    refetchInterval: run.status === "RUNNING" ? poll : false,
  });

  const color = seriesColor(0);
  const { data, series } = useMemo((): { data: Aligned | null; series: ChartSeries[] } => {
    if (!history.data) return { data: null, series: [] };
    if (view.smoothing > 0) {
      const raw = shapeSeries(history.data, { axis: view.x, smoothing: 0, log: view.log });
      const smooth = shapeSeries(history.data, {
        axis: view.x,
        smoothing: view.smoothing,
        log: view.log,
      });
      return {
        data: [raw.x, raw.y, smooth.y],
        series: [
          { label: `${metricKey} (raw)`, color: `${color}66` },
          { label: metricKey, color },
        ],
      };
    }
    return {
      data: alignSeries([shapeSeries(history.data, { axis: view.x, smoothing: 0, log: view.log })]),
      series: [{ label: metricKey, color }],
    };
  }, [history.data, view.x, view.smoothing, view.log, metricKey, color]);

  const onZoom = useCallback(
    (min: number, max: number) => {
      if (!history.data) return;
      const range = stepRangeFor(history.data, view.x, min, max);
      if (range) setView({ ...view, zoom: range });
    },
    [history.data, view, setView],
  );
  const summary = run.metrics[metricKey];
  const points = history.data?.steps.length ?? 0;

  return (
    <div className="chart-card" data-testid="metric-chart" data-key={metricKey} data-points={points}>
      <div className="chart-title">
        <span>{metricKey}</span>
        <span className="muted" title="latest value (min … max)">
          {summary
            ? `${formatValue(summary.value)} (${formatValue(summary.min)} … ${formatValue(summary.max)})`
            : ""}
        </span>
      </div>
      {history.error ? (
        <div className="chart-box placeholder error-banner">{history.error.message}</div>
      ) : data ? (
        <MetricChart
          data={data}
          series={series}
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

  const runResult = useQuery({
    ...runQuery(runId),
    refetchInterval: (q) => (q.state.data?.status === "RUNNING" ? poll : false),
  });
  const run = runResult.data;
  const experiment = useQuery({
    queryKey: ["experiment", run?.experiment_id],
    queryFn: ({ signal }) => getExperiment(run?.experiment_id ?? 0, signal),
    enabled: run !== undefined,
    staleTime: 300_000,
  });

  useLiveEvents({ run_id: runId }, (event: LiveEvent) => {
    if (event.event === "metrics") {
      queryClient.setQueryData<Run>(queryKeys.run(runId), (old) =>
        old ? applyPointsToRun(old, event.points) : old,
      );
      applyPointsToHistories(queryClient, runId, event.points, event.truncated === true);
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
  return (
    <main data-testid="run-page">
      <div className="crumbs">
        <Link to="/">Experiments</Link>/
        <Link to={`/experiments/${run.experiment_id}`}>
          {experiment.data?.name ?? `experiment ${run.experiment_id}`}
        </Link>
        /
      </div>
      <h1>
        {run.name || run.id} <StatusBadge status={run.status} />
      </h1>
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
          <dd>{run.user || "—"}</dd>
        </div>
        <div>
          <dt>compare</dt>
          <dd>
            <Link to={`/compare?runs=${run.id}`}>open in compare</Link>
          </dd>
        </div>
      </dl>
      <h2>
        Metrics <span className="muted">({keys.length})</span>
      </h2>
      <ChartControls view={view} onChange={setView} />
      {keys.length === 0 ? (
        <p className="muted">No metrics logged yet.</p>
      ) : (
        <div className="charts">
          {keys.map((k) => (
            <WhenVisible key={k} minHeight={300}>
              <MetricPanel run={run} metricKey={k} view={view} setView={setView} />
            </WhenVisible>
          ))}
        </div>
      )}
      <div className="columns">
        <KeyValues title="Params" values={run.params} />
        <KeyValues title="Tags" values={run.tags} />
      </div>
    </main>
  );
}
