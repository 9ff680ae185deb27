// One chart panel (one metric key, or several) across the compared runs: a line per run
// and key in the run's colour or, when the runs are grouped, a mean line per group and
// key with its band (min–max or ±std) in the group's colour; the keys of a multi-key
// panel are told apart by dashes and named in the legend. On the step and time axes a
// panel's data is one request per key (POST /runs/compare: the runs' series, or the
// groups' means and bands computed by the server); on a metric axis each run's history
// and its x metric's are read and joined on the step here.
import { keepPreviousData, useQueries } from "@tanstack/react-query";
import { useMemo } from "react";
import { compareSeries, type CompareSeries, type CompareSeriesQuery } from "../../api/compare";
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
import { keyDash } from "../panels/keyDash";
import { encodePanels, panelTitle, type Panel } from "../../state/panels";
import { bandLines, bandStepRange, type BandLines } from "./serverBands";

const MAX_POINTS = 1000;
/** How often a chart of running runs is read again (its lines and bands). */
const LIVE_REFRESH_MS = 2000;

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
  key: string;
  /** The key's place in the panel (its dash); -1 in a single-key panel. */
  keyIndex: number;
  data: MetricColumns;
  context: XContext;
}

/** A legend name, with the key appended when the panel has several. */
function named(name: string, h: Pick<Loaded, "key" | "keyIndex">): string {
  return h.keyIndex < 0 ? name : `${name} · ${h.key}`;
}

function dashOf(keyIndex: number): Pick<ChartSeries, "dash"> {
  const dash = keyIndex < 0 ? undefined : keyDash(keyIndex);
  return dash ? { dash } : {};
}

function runLines(loaded: readonly Loaded[], view: ChartView, colors: Map<string, string>): Shaped {
  return {
    data: alignSeries(loaded.map((h) => shape(h, view))),
    series: loaded.map((h) => ({
      label: named(runDisplayName(h.run), h),
      color: colors.get(h.run.id) ?? seriesColor(0),
      ...dashOf(h.keyIndex),
    })),
    bands: [],
  };
}

/** One group's mean line and band (its two edges), as the chart draws them. */
interface GroupDrawn {
  lines: BandLines;
  /** Legend name: the group and, in a multi-key panel, the key. */
  name: string;
  runCount: number;
  /** The group's place in the legend, which picks its colour. */
  index: number;
  keyIndex: number;
}

/** Mean lines in the groups' colours with their shaded bands; a log axis drops the ≤ 0
 * edge values a wide ±std band may reach. */
function drawGroups(drawn: readonly GroupDrawn[], grouping: ChartGroups, log: boolean): Shaped {
  const xys: XY[] = [];
  const series: ChartSeries[] = [];
  const bands: ChartBand[] = [];
  const edge = grouping.band === "std" ? (["+1σ", "−1σ"] as const) : (["max", "min"] as const);
  const keep = log ? positiveOnly : (y: (number | null)[]) => y;
  for (const { lines, name, runCount, index, keyIndex } of drawn) {
    const color = seriesColor(index);
    const at = series.length;
    xys.push(lines.mean, { x: lines.upper.x, y: keep(lines.upper.y) }, { x: lines.lower.x, y: keep(lines.lower.y) });
    series.push(
      { label: `${name} (${runCount} runs)`, color, width: 2, ...dashOf(keyIndex) },
      { label: `${name} ${edge[0]}`, color: withAlpha(color, 0.35), width: 0.5 },
      { label: `${name} ${edge[1]}`, color: withAlpha(color, 0.35), width: 0.5 },
    );
    bands.push({ upper: at + 1, lower: at + 2, fill: withAlpha(color, 0.15) });
  }
  return { data: alignSeries(xys), series, bands };
}

/** Group lines computed here from the runs' histories (a metric x axis). */
function groupLines(
  loaded: readonly Loaded[],
  view: ChartView,
  grouping: ChartGroups,
  panel: Panel,
): Shaped {
  const keyIndexes = panel.length > 1 ? panel.map((_, i) => i) : [-1];
  const drawn: GroupDrawn[] = [];
  for (const keyIndex of keyIndexes) {
    grouping.groups.forEach((group, index) => {
      const members = loaded.filter((h) => h.keyIndex === keyIndex && group.runIds.includes(h.run.id));
      const first = members[0];
      if (!first) return;
      const band = bandOf(
        members.map((h) => shape(h, view)),
        grouping.band,
      );
      const lines = {
        mean: { x: band.x, y: band.mean },
        upper: { x: band.x, y: band.upper },
        lower: { x: band.x, y: band.lower },
      };
      const name = named(`${grouping.label}=${group.name}`, first);
      drawn.push({ lines, name, runCount: members.length, index, keyIndex });
    });
  }
  return drawGroups(drawn, grouping, view.log);
}

/** Group lines from the server's bands: one mean line and band per group and key. */
function serverGroupLines(
  answers: readonly (CompareSeries | undefined)[],
  view: ChartView,
  grouping: ChartGroups,
  panel: Panel,
): Shaped {
  const drawn: GroupDrawn[] = [];
  answers.forEach((answer, k) => {
    if (!answer) return;
    const keyIndex = panel.length > 1 ? k : -1;
    grouping.groups.forEach((group, index) => {
      const band = answer.groups.find((g) => g.name === group.name);
      if (!band || band.run_count === 0) return;
      const name = named(`${grouping.label}=${group.name}`, { key: answer.key, keyIndex });
      drawn.push({ lines: bandLines(band, grouping.band), name, runCount: band.run_count, index, keyIndex });
    });
  });
  return drawGroups(drawn, grouping, view.log);
}

/** The request of one key's chart: its runs' lines, or its groups' bands. */
export function compareQuery(
  runIds: readonly string[],
  key: string,
  view: ChartView,
  grouping: ChartGroups | null,
  axis: "step" | "time" | "relative",
): CompareSeriesQuery {
  return {
    run_ids: [...runIds],
    key,
    x: axis,
    groups: grouping ? grouping.groups.map((g) => ({ name: g.name, run_ids: g.runIds })) : null,
    lines: false,
    max_points: MAX_POINTS,
    ...(view.zoom ? { start_step: view.zoom[0], end_step: view.zoom[1] } : {}),
    // Lines come back raw and are smoothed here; groups are smoothed before averaging.
    smoothing: grouping ? view.smoothing : 0,
    log: grouping ? view.log : false,
  };
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
  panel,
  runs,
  colors,
  grouping,
  ready,
  view,
  setView,
}: {
  /** The metric keys drawn together (one for a chart of its own). */
  panel: Panel;
  runs: Run[];
  colors: Map<string, string>;
  grouping: ChartGroups | null;
  /** Whether every compared run has loaded (or failed): the step/time data waits for it. */
  ready: boolean;
  view: ChartView;
  setView: (v: ChartView) => void;
}) {
  const poll = usePollInterval();
  const xKey = xMetricKey(view.x);
  const multi = panel.length > 1;
  const axis = xKey === null ? (view.x as "step" | "time" | "relative") : null;
  const byId = new Map(runs.map((r) => [r.id, r]));
  const running = runs.some((r) => r.status === "RUNNING");
  // Step and time axes: one request per key of the panel, for all its runs.
  const compared = useQueries({
    queries: (axis === null ? [] : panel).map((key) => {
      // Every run (the server leaves out those without the key): a group names its runs
      // among these, whichever of them log this key.
      const body = compareQuery(
        runs.map((r) => r.id),
        key,
        view,
        grouping,
        axis ?? "step",
      );
      return {
        queryKey: ["compare", body] as const,
        queryFn: ({ signal }: { signal: AbortSignal }) => compareSeries(body, signal),
        enabled: ready && runs.some((r) => key in r.metrics),
        placeholderData: keepPreviousData,
        // Live points are not merged into server-side bands: while a run is running the
        // chart is read again every few seconds, live socket or not.
        refetchInterval: running ? LIVE_REFRESH_MS : (false as const),
      };
    }),
  });
  // A metric axis: every (run, key) pair's history and each run's x metric, joined here.
  const pairs = (axis === null ? panel : []).flatMap((key, i) =>
    runs
      .filter((r) => key in r.metrics && (xKey === null || xKey in r.metrics))
      .map((run) => ({ run, key, keyIndex: multi ? i : -1 })),
  );
  const pairRuns = [...new Map(pairs.map((p) => [p.run.id, p.run])).values()];
  const refetch = (run: Run) => (run.status === "RUNNING" ? poll : (false as const));
  const histories = useQueries({
    queries: pairs.map(({ run, key }) => ({
      ...historyQuery(run.id, key, view.zoom, MAX_POINTS),
      placeholderData: keepPreviousData,
      refetchInterval: refetch(run),
    })),
  });
  // The x metric over the same step range, so that every point finds its x.
  const xHistories = useQueries({
    queries: (xKey === null ? [] : pairRuns).map((run) => ({
      ...historyQuery(run.id, xKey ?? "", view.zoom, MAX_POINTS),
      placeholderData: keepPreviousData,
      refetchInterval: refetch(run),
    })),
  });
  const xByRun = new Map(pairRuns.map((run, i) => [run.id, xHistories[i]?.data]));
  const loaded: Loaded[] = [];
  compared.forEach((answer, i) => {
    const key = panel[i];
    if (key === undefined) return;
    for (const line of answer.data?.lines ?? []) {
      const run = byId.get(line.runId);
      if (!run) continue;
      const context = { startTime: run.start_time };
      loaded.push({ run, key, keyIndex: multi ? i : -1, data: line.data, context });
    }
  });
  histories.forEach((h, i) => {
    const pair = pairs[i];
    if (!pair || !h.data) return;
    const xMetric = xByRun.get(pair.run.id);
    if (xKey !== null && !xMetric) return;
    const context = { startTime: pair.run.start_time, ...(xMetric ? { xMetric } : {}) };
    loaded.push({ ...pair, data: h.data, context });
  });
  const answers = compared.map((q) => q.data);
  const serverGroups = axis !== null && grouping !== null;
  const loggingRuns = axis === null ? pairRuns.length : runs.filter((r) => panel.some((k) => k in r.metrics)).length;
  const drawnRuns = serverGroups
    ? answers.reduce((n, a) => Math.max(n, a ? a.groups.reduce((m, g) => m + g.run_count, 0) : 0), 0)
    : new Set(loaded.map((h) => h.run.id)).size;
  const dataKey = [...compared, ...histories, ...xHistories].map((h) => h.dataUpdatedAt).join(",");
  // Pages parse a new panel array on every render; its encoding is what stays the same.
  const panelId = encodePanels([panel]);
  const title = panelTitle(panel);

  const shaped = useMemo(
    () =>
      serverGroups
        ? answers.some((a) => a !== undefined)
          ? serverGroupLines(answers, view, grouping, panel)
          : null
        : loaded.length === 0
          ? null
          : grouping
            ? groupLines(loaded, view, grouping, panel)
            : runLines(loaded, view, colors),
    // dataKey changes whenever any answer or history does, panelId whenever the panel does
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [dataKey, panelId, view.x, view.smoothing, view.log, colors, grouping],
  );

  const first = loaded[0];
  const onZoom = (min: number, max: number) => {
    const range = serverGroups
      ? bandStepRange(answers.flatMap((a) => a?.groups ?? []), min, max)
      : first
        ? stepRangeFor(first.data, view.x, min, max, first.context)
        : null;
    if (range) setView({ ...view, zoom: range });
  };

  return (
    // data-runs and data-points say what is drawn (bench/dashboard.py waits for every run).
    <div
      className="chart-card"
      data-testid="metric-chart"
      data-key={title}
      data-runs={shaped ? drawnRuns : 0}
      data-points={shaped?.data[0].length ?? 0}
    >
      <div className="chart-title">
        <span>{title}</span>
        <span className="muted" data-testid="chart-summary">
          {view.smoothing > 0 ? `smoothed ${view.smoothing} · ` : ""}
          {loggingRuns} of {runs.length} runs log {multi ? "one of these keys" : "it"} · x: {xAxisLabel(view.x)}
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
          {loggingRuns === 0 ? (xKey ? `no run logs both ${title} and ${xKey}` : `no run logs ${title}`) : "loading…"}
        </div>
      )}
    </div>
  );
}
