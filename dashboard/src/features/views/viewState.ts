// A saved view is the runs page's URL state as a JSON document: filter, sort, columns
// (with hidden and pinned ones), the grouping, chart settings and chart panels that
// Compare opens with.
// What is transient is left out: the selection, expanded parents, the deleted-runs switch.
// Pure functions, shared by the page, the Views menu and the tests.
import type { WireViewState } from "../../api/views";
import { parseColumnId, type ColumnRef } from "../../state/identifiers";
import { columnId } from "../../state/identifiers";
import {
  parseChartView,
  parseRunsView,
  serializeRunsView,
  writeChartView,
  type BandKind,
  type ChartView,
} from "../../state/urlState";
import { parseXAxis } from "../../charts/xAxis";
import { parsePanels, writePanels, type Panel } from "../../state/panels";
import { parseColumnLayout, writeColumnLayout } from "../runs/columnState";

/** The URL parameter naming the saved view the page was opened from. */
export const VIEW_PARAM = "view";

/** Grouping, chart settings and panels on the runs page, handed on to Compare. */
export interface RunsCharts {
  group: ColumnRef | null;
  band: BandKind;
  chart: ChartView;
  /** The charts Compare draws; null = one per metric key. */
  panels: Panel[] | null;
}

export function parseRunsCharts(search: URLSearchParams): RunsCharts {
  // Zoom is a step range of particular runs: not something a view of an experiment keeps.
  const chart = { ...parseChartView(search), zoom: null };
  return {
    group: parseColumnId(search.get("group") ?? ""),
    band: search.get("band") === "std" ? "std" : "minmax",
    chart,
    panels: parsePanels(search),
  };
}

/** Adds the grouping and chart settings to `out` with Compare's parameter names. */
export function writeRunsCharts(out: URLSearchParams, charts: RunsCharts): URLSearchParams {
  if (charts.group) out.set("group", columnId(charts.group));
  if (charts.band !== "minmax") out.set("band", charts.band);
  writePanels(out, charts.panels);
  return writeChartView(out, charts.chart);
}

/** The saved view id in the URL, or null (the same one spelling ids have everywhere). */
export function parseViewId(search: URLSearchParams): number | null {
  const raw = search.get(VIEW_PARAM);
  if (raw === null || !/^(0|[1-9][0-9]{0,14})$/.test(raw)) return null;
  return Number(raw);
}

/** The view state the URL describes. */
export function viewStateFromSearch(search: URLSearchParams): WireViewState {
  const view = parseRunsView(search);
  const layout = parseColumnLayout(search);
  const charts = parseRunsCharts(search);
  return {
    version: 1,
    filter: view.filter,
    sort: view.sort ? { column: columnId(view.sort.column), desc: view.sort.desc } : null,
    columns: view.columns ? view.columns.map(columnId) : null,
    hidden: layout.hidden as WireViewState["hidden"],
    pinned: layout.pinned,
    group: charts.group ? columnId(charts.group) : null,
    chart: {
      x: charts.chart.x,
      smoothing: charts.chart.smoothing,
      log: charts.chart.log,
      band: charts.band,
    },
    panels: charts.panels ? charts.panels.map((p) => [...p]) : null,
  };
}

/** The URL parameters that reproduce a saved state (defaults omitted, as the page writes them). */
export function searchFromViewState(state: WireViewState): URLSearchParams {
  const sortColumn = state.sort ? parseColumnId(state.sort.column) : null;
  const columns = state.columns
    ? state.columns.map(parseColumnId).filter((c): c is ColumnRef => c !== null)
    : null;
  const out = serializeRunsView({
    filter: state.filter,
    sort: sortColumn && state.sort ? { column: sortColumn, desc: state.sort.desc } : null,
    columns,
    selected: [],
    expanded: [],
    deleted: false,
  });
  writeColumnLayout(out, { hidden: state.hidden ?? [], pinned: state.pinned ?? [] });
  const chart = state.chart;
  return writeRunsCharts(out, {
    group: parseColumnId(state.group ?? ""),
    band: chart?.band === "std" ? "std" : "minmax",
    chart: {
      x: parseXAxis(chart?.x ?? null),
      smoothing: chart?.smoothing ?? 0,
      log: chart?.log ?? false,
      zoom: null,
    },
    panels: state.panels ?? null,
  });
}

/** Whether the URL shows exactly the saved state (the "modified" mark otherwise). */
export function sameState(search: URLSearchParams, state: WireViewState): boolean {
  const current = searchFromViewState(viewStateFromSearch(search));
  return current.toString() === searchFromViewState(state).toString();
}

/** Whether the URL carries only a view id: a shared link, to be filled with the view. */
export function isBareViewLink(search: URLSearchParams): boolean {
  return parseViewId(search) !== null && [...search.keys()].every((k) => k === VIEW_PARAM);
}

/** Where a saved view opens: its state, and its id so the page knows which one it is. */
export function viewHref(pathname: string, viewId: number, state: WireViewState): string {
  const params = searchFromViewState(state);
  params.set(VIEW_PARAM, String(viewId));
  return `${pathname}?${params.toString()}`;
}

/** The shareable link of a view: opened in a fresh browser it loads the view. */
export function viewLink(origin: string, experimentId: number, viewId: number): string {
  return `${origin}/experiments/${experimentId}?${VIEW_PARAM}=${viewId}`;
}
