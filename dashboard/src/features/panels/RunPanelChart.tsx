// A run page chart panel: one metric key (with its raw line behind the smoothed one when
// smoothing is on, and the key's last/min/max in the header) or several keys, a line per
// key in its own colour. Each key's history comes through the same query wherever it is
// charted, so a key charted twice (or a panel moved) is fetched once.
import { keepPreviousData, useQueries, useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { historyQuery } from "../../api/queries";
import type { MetricColumns, Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { MetricChart, type ChartSeries } from "../../charts/MetricChart";
import { alignSeries, shapeSeries, stepRangeFor, type Aligned } from "../../charts/shape";
import { xAxisLabel, xMetricKey, type XContext } from "../../charts/xAxis";
import { formatValue } from "../../components/format";
import { usePollInterval } from "../../live/LiveProvider";
import { encodePanels, panelTitle, type Panel } from "../../state/panels";
import type { ChartView } from "../../state/urlState";

interface Shaped {
  data: Aligned;
  series: ChartSeries[];
}

function shapePanel(
  panel: Panel,
  histories: readonly MetricColumns[],
  view: ChartView,
  context: XContext,
): Shaped {
  const options = (smoothing: number) => ({ axis: view.x, smoothing, log: view.log, context });
  const [key] = panel;
  const [history] = histories;
  if (panel.length === 1 && key !== undefined && history && view.smoothing > 0) {
    // One key: the raw line stays visible, faded, behind the smoothed one.
    const color = seriesColor(0);
    const raw = shapeSeries(history, options(0));
    const smooth = shapeSeries(history, options(view.smoothing));
    return {
      data: [raw.x, raw.y, smooth.y],
      series: [
        { label: `${key} (raw)`, color: `${color}66` },
        { label: key, color },
      ],
    };
  }
  return {
    data: alignSeries(histories.map((h) => shapeSeries(h, options(view.smoothing)))),
    series: panel.map((k, i) => ({ label: k, color: seriesColor(i) })),
  };
}

function summaryOf(run: Run, panel: Panel, view: ChartView): string {
  const [key] = panel;
  if (panel.length > 1 || key === undefined) {
    return `${view.smoothing > 0 ? `smoothed ${view.smoothing} · ` : ""}${panel.length} keys · x: ${xAxisLabel(view.x)}`;
  }
  const s = run.metrics[key];
  return s
    ? `last ${formatValue(s.value)} @ step ${s.step} · min ${formatValue(s.min)} · max ${formatValue(s.max)}`
    : "";
}

export function RunPanelChart({
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
  // A metric x axis (e.g. epoch) needs that metric's history too, joined on the step.
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
  const loaded = histories.map((h) => h.data).filter((d): d is MetricColumns => d !== undefined);
  const ready = loaded.length === panel.length;

  const shaped = useMemo(
    () => (ready ? shapePanel(panel, loaded, view, context) : null),
    // dataKey changes whenever any history does, panelId whenever the panel does
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [ready, dataKey, panelId, view.x, view.smoothing, view.log, context],
  );

  const first = loaded[0];
  const onZoom = (min: number, max: number) => {
    if (!first) return;
    const range = stepRangeFor(first, view.x, min, max, context);
    if (range) setView({ ...view, zoom: range });
  };
  const error = histories.find((h) => h.error)?.error;
  const title = panelTitle(panel);
  // One key: the points of its history; several: the x values they share.
  const points = panel.length === 1 ? (first?.steps.length ?? 0) : (shaped?.data[0].length ?? 0);

  return (
    <div className="chart-card" data-testid="metric-chart" data-key={title} data-points={points}>
      <div className="chart-title">
        <span>{title}</span>
        <span className="muted" data-testid="chart-summary">
          {summaryOf(run, panel, view)}
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
