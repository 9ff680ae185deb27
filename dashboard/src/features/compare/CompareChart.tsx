// One metric key across the compared runs: a line per run in the run's colour or,
// when the runs are grouped, a mean line per group with its band (min–max or ±std)
// in the group's colour. The x axis may be another metric, whose history is then
// read too and joined on the step.
import { keepPreviousData, useQueries } from "@tanstack/react-query";
import { useMemo } from "react";
import { historyQuery } from "../../api/queries";
import type { MetricColumns, Run } from "../../api/types";
import { seriesColor, withAlpha } from "../../charts/colors";
import { MetricChart, type ChartBand, type ChartSeries } from "../../charts/MetricChart";
import { alignSeries, positiveOnly, shapeSeries, stepRangeFor, type XY } from "../../charts/shape";
import { xAxisLabel, xMetricKey, type XContext } from "../../charts/xAxis";
import { usePollInterval } from "../../live/LiveProvider";
import { runDisplayName } from "../../mlflowTags";
import type { BandKind, ChartView } from "../../state/urlState";
import { bandOf, type RunGroup } from "../analysis/grouping";

const MAX_POINTS = 1000;

export interface ChartGroups {
  /** The column grouped by, as the legend names it ("lr"). */
  label: string;
  groups: RunGroup[];
  band: BandKind;
}

interface Shaped {
  data: ReturnType<typeof alignSeries>;
  series: ChartSeries[];
  bands: ChartBand[];
}

interface Loaded {
  run: Run;
  data: MetricColumns;
  context: XContext;
}

function runLines(loaded: readonly Loaded[], view: ChartView, colors: Map<string, string>): Shaped {
  return {
    data: alignSeries(loaded.map((h) => shape(h, view))),
    series: loaded.map((h) => ({
      label: runDisplayName(h.run),
      color: colors.get(h.run.id) ?? seriesColor(0),
    })),
    bands: [],
  };
}

function groupLines(loaded: readonly Loaded[], view: ChartView, grouping: ChartGroups): Shaped {
  const xys: XY[] = [];
  const series: ChartSeries[] = [];
  const bands: ChartBand[] = [];
  const edge = grouping.band === "std" ? (["+1σ", "−1σ"] as const) : (["max", "min"] as const);
  grouping.groups.forEach((group, index) => {
    const members = loaded.filter((h) => group.runIds.includes(h.run.id));
    if (members.length === 0) return;
    const band = bandOf(
      members.map((h) => shape(h, view)),
      grouping.band,
    );
    // A log axis cannot show the ≤ 0 edge a wide ±std band may reach.
    const keep = view.log ? positiveOnly : (y: (number | null)[]) => y;
    const color = seriesColor(index);
    const name = `${grouping.label}=${group.name}`;
    const at = series.length;
    xys.push({ x: band.x, y: band.mean }, { x: band.x, y: keep(band.upper) }, { x: band.x, y: keep(band.lower) });
    series.push(
      { label: `${name} (${members.length} runs)`, color, width: 2 },
      { label: `${name} ${edge[0]}`, color: withAlpha(color, 0.35), width: 0.5 },
      { label: `${name} ${edge[1]}`, color: withAlpha(color, 0.35), width: 0.5 },
    );
    bands.push({ upper: at + 1, lower: at + 2, fill: withAlpha(color, 0.15) });
  });
  return { data: alignSeries(xys), series, bands };
}

function shape(h: Loaded, view: ChartView): XY {
  return shapeSeries(h.data, {
    axis: view.x,
    smoothing: view.smoothing,
    log: view.log,
    context: h.context,
  });
}

export function CompareChart({
  metricKey,
  runs,
  colors,
  grouping,
  view,
  setView,
}: {
  metricKey: string;
  runs: Run[];
  colors: Map<string, string>;
  grouping: ChartGroups | null;
  view: ChartView;
  setView: (v: ChartView) => void;
}) {
  const poll = usePollInterval();
  const xKey = xMetricKey(view.x);
  const withKey = runs.filter((r) => metricKey in r.metrics && (xKey === null || xKey in r.metrics));
  const refetch = (run: Run) => (run.status === "RUNNING" ? poll : (false as const));
  const histories = useQueries({
    queries: withKey.map((run) => ({
      ...historyQuery(run.id, metricKey, view.zoom, MAX_POINTS),
      placeholderData: keepPreviousData,
      refetchInterval: refetch(run),
    })),
  });
  // The x metric over the same step range, so that every point finds its x.
  const xHistories = useQueries({
    queries: (xKey === null ? [] : withKey).map((run) => ({
      ...historyQuery(run.id, xKey ?? "", view.zoom, MAX_POINTS),
      placeholderData: keepPreviousData,
      refetchInterval: refetch(run),
    })),
  });
  const loaded: Loaded[] = [];
  histories.forEach((h, i) => {
    const run = withKey[i];
    const xMetric = xHistories[i]?.data;
    if (!run || !h.data || (xKey !== null && !xMetric)) return;
    loaded.push({ run, data: h.data, context: { startTime: run.start_time, ...(xMetric ? { xMetric } : {}) } });
  });
  const dataKey = [...histories, ...xHistories].map((h) => h.dataUpdatedAt).join(",");

  const shaped = useMemo(
    () =>
      loaded.length === 0
        ? null
        : grouping
          ? groupLines(loaded, view, grouping)
          : runLines(loaded, view, colors),
    // dataKey changes whenever any history does
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [dataKey, view.x, view.smoothing, view.log, colors, grouping],
  );

  const first = loaded[0];
  const onZoom = (min: number, max: number) => {
    if (!first) return;
    const range = stepRangeFor(first.data, view.x, min, max, first.context);
    if (range) setView({ ...view, zoom: range });
  };

  return (
    // data-runs and data-points say what is drawn (bench/dashboard.py waits for every run).
    <div
      className="chart-card"
      data-testid="metric-chart"
      data-key={metricKey}
      data-runs={shaped ? loaded.length : 0}
      data-points={shaped?.data[0].length ?? 0}
    >
      <div className="chart-title">
        <span>{metricKey}</span>
        <span className="muted" data-testid="chart-summary">
          {view.smoothing > 0 ? `smoothed ${view.smoothing} · ` : ""}
          {withKey.length} of {runs.length} runs log it · x: {xAxisLabel(view.x)}
          {grouping
            ? ` · ${grouping.groups.length} groups by ${grouping.label}, mean and ${grouping.band === "std" ? "±1 std" : "min–max"}`
            : ""}
        </span>
      </div>
      {shaped ? (
        <MetricChart
          data={shaped.data}
          series={shaped.series}
          bands={shaped.bands}
          axis={view.x}
          log={view.log}
          onZoom={onZoom}
          onResetZoom={() => setView({ ...view, zoom: null })}
        />
      ) : (
        <div className="chart-box placeholder">
          {withKey.length === 0 ? `no run logs both ${metricKey} and ${xKey ?? ""}` : "loading…"}
        </div>
      )}
    </div>
  );
}
