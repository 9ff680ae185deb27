// A run page chart of several metric keys: a line per key, each in its own colour. Each
// key's history comes through the same query as its single-key chart, so a key charted
// twice (or a panel moved) is fetched once.
import { keepPreviousData, useQueries, useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { historyQuery } from "../../api/queries";
import type { Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { MetricChart, type ChartSeries } from "../../charts/MetricChart";
import { alignSeries, shapeSeries, stepRangeFor } from "../../charts/shape";
import { xAxisLabel, xMetricKey, type XContext } from "../../charts/xAxis";
import { usePollInterval } from "../../live/LiveProvider";
import type { ChartView } from "../../state/urlState";
import { encodePanels, panelTitle, type Panel } from "../../state/panels";

export function RunKeysChart({
  run,
  panel,
  view,
  setView,
}: {
  run: Run;
  panel: Panel;
  view: ChartView;
  setView: (v: ChartView) => void;
}) {
  const poll = usePollInterval();
  const refetchInterval = run.status === "RUNNING" ? poll : (false as const);
  const histories = useQueries({
    queries: panel.map((key) => ({
      ...historyQuery(run.id, key, view.zoom),
      placeholderData: keepPreviousData,
      refetchInterval,
    })),
  });
  const xKey = xMetricKey(view.x);
  const xHistory = useQuery({
    ...historyQuery(run.id, xKey ?? "", view.zoom),
    enabled: xKey !== null,
    placeholderData: keepPreviousData,
    refetchInterval,
  });
  const context = useMemo(
    (): XContext => ({
      startTime: run.start_time,
      ...(xKey !== null && xHistory.data ? { xMetric: xHistory.data } : {}),
    }),
    [run.start_time, xKey, xHistory.data],
  );
  // Pages parse a new panel array on every render; its encoding is what stays the same.
  const panelId = encodePanels([panel]);
  const dataKey = histories.map((h) => h.dataUpdatedAt).join(",");
  const ready = histories.every((h) => h.data) && (xKey === null || xHistory.data !== undefined);

  const shaped = useMemo(() => {
    if (!ready) return null;
    const xys = histories.map((h) =>
      h.data
        ? shapeSeries(h.data, { axis: view.x, smoothing: view.smoothing, log: view.log, context })
        : { x: [], y: [] },
    );
    const series: ChartSeries[] = panel.map((key, i) => ({ label: key, color: seriesColor(i) }));
    return { data: alignSeries(xys), series };
    // dataKey changes whenever any history does
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, dataKey, panelId, view.x, view.smoothing, view.log, context]);

  const first = histories[0]?.data;
  const onZoom = (min: number, max: number) => {
    if (!first) return;
    const range = stepRangeFor(first, view.x, min, max, context);
    if (range) setView({ ...view, zoom: range });
  };
  const error = histories.find((h) => h.error)?.error;
  const title = panelTitle(panel);

  return (
    <div
      className="chart-card"
      data-testid="metric-chart"
      data-key={title}
      data-keys={panel.length}
      data-points={shaped?.data[0].length ?? 0}
    >
      <div className="chart-title">
        <span>{title}</span>
        <span className="muted" data-testid="chart-summary">
          {view.smoothing > 0 ? `smoothed ${view.smoothing} · ` : ""}
          {panel.length} keys · x: {xAxisLabel(view.x)}
        </span>
      </div>
      {error ? (
        <div className="chart-box placeholder error-banner">{error.message}</div>
      ) : shaped ? (
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
