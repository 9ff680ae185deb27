// View state that lives in the URL so a link reproduces what the sender saw.
// Parsers are total (bad input falls back to defaults); serialisers omit defaults.
import { parseXAxis, type XAxis } from "../charts/xAxis";
import { columnId, parseColumnId, type ColumnRef, type SortSpec } from "./identifiers";
import { parsePanels, writePanels, type Panel } from "./panels";

export type { XAxis };

export interface RunsView {
  filter: string;
  sort: SortSpec | null;
  /** null means "not chosen": the page picks defaults from the data. */
  columns: ColumnRef[] | null;
  selected: string[];
  /** Parent runs whose nested runs are shown (the tree starts collapsed). */
  expanded: string[];
  /** Show the deleted runs (to restore them) instead of the active ones. */
  deleted: boolean;
}

export interface ChartView {
  x: XAxis;
  /** EMA weight in [0, 0.99]; 0 is off. */
  smoothing: number;
  log: boolean;
  /** Step range the charts are zoomed to, or null for the full series. */
  zoom: [number, number] | null;
}

export interface CompareView extends ChartView {
  runs: string[];
  /** Metric coloured in the parallel-coordinates plot. */
  metric: string | null;
  /** Param axes of the parallel-coordinates plot; null = every param that varies. */
  params: string[] | null;
  /** Run diff shows only the rows where the runs disagree. */
  diffOnly: boolean;
  /** Column the runs are grouped by ("params.lr"); null draws one line per run. */
  group: ColumnRef | null;
  /** What a group's shaded band spans around its mean. */
  band: BandKind;
  /** Scatter plot axes: any param or metric (latest value). */
  scatterX: ColumnRef | null;
  scatterY: ColumnRef | null;
  /** Chosen chart panels; null = one chart per metric key. */
  panels: Panel[] | null;
}

export type BandKind = "minmax" | "std";

export const DEFAULT_CHART_VIEW: ChartView = { x: "step", smoothing: 0, log: false, zoom: null };

function list(value: string | null): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function parseRunsView(search: URLSearchParams): RunsView {
  const order = search.get("order");
  let sort: SortSpec | null = null;
  if (order) {
    const desc = order.startsWith("-");
    const ref = parseColumnId(desc ? order.slice(1) : order);
    if (ref) sort = { column: ref, desc };
  }
  const colParams = search.getAll("col");
  const columns = search.has("col")
    ? colParams
        .filter((c) => c !== "")
        .map(parseColumnId)
        .filter((c): c is ColumnRef => c !== null)
    : null;
  return {
    filter: search.get("filter") ?? "",
    sort,
    columns,
    selected: unique(list(search.get("sel"))),
    expanded: unique(list(search.get("open"))),
    deleted: search.get("stage") === "deleted",
  };
}

export function serializeRunsView(view: RunsView): URLSearchParams {
  const out = new URLSearchParams();
  if (view.filter.trim()) out.set("filter", view.filter);
  if (view.sort) out.set("order", (view.sort.desc ? "-" : "") + columnId(view.sort.column));
  if (view.columns) {
    if (view.columns.length === 0) out.append("col", "");
    for (const c of view.columns) out.append("col", columnId(c));
  }
  if (view.selected.length) out.set("sel", view.selected.join(","));
  if (view.expanded.length) out.set("open", view.expanded.join(","));
  if (view.deleted) out.set("stage", "deleted");
  return out;
}

function clampSmoothing(raw: string | null): number {
  const n = raw === null ? 0 : Number(raw);
  if (!Number.isFinite(n) || n <= 0) return 0;
  return Math.min(n, 0.99);
}

function parseZoom(raw: string | null): [number, number] | null {
  if (!raw) return null;
  const m = /^(-?\d+)\.\.(-?\d+)$/.exec(raw);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a > b) return null;
  return [a, b];
}

export function parseChartView(search: URLSearchParams): ChartView {
  return {
    x: parseXAxis(search.get("x")),
    smoothing: clampSmoothing(search.get("smooth")),
    log: search.get("log") === "1",
    zoom: parseZoom(search.get("zoom")),
  };
}

export function writeChartView(out: URLSearchParams, view: ChartView): URLSearchParams {
  if (view.x !== "step") out.set("x", view.x);
  if (view.smoothing > 0) out.set("smooth", String(view.smoothing));
  if (view.log) out.set("log", "1");
  if (view.zoom) out.set("zoom", `${view.zoom[0]}..${view.zoom[1]}`);
  return out;
}

export function serializeChartView(view: ChartView): URLSearchParams {
  return writeChartView(new URLSearchParams(), view);
}

export function parseCompareView(search: URLSearchParams): CompareView {
  return {
    ...parseChartView(search),
    runs: unique(list(search.get("runs"))),
    metric: search.get("metric") || null,
    params: search.has("params") ? unique(list(search.get("params"))) : null,
    diffOnly: search.get("diff") === "only",
    group: parseColumnId(search.get("group") ?? ""),
    band: search.get("band") === "std" ? "std" : "minmax",
    scatterX: parseColumnId(search.get("sx") ?? ""),
    scatterY: parseColumnId(search.get("sy") ?? ""),
    panels: parsePanels(search),
  };
}

export function serializeCompareView(view: CompareView): URLSearchParams {
  const out = new URLSearchParams();
  out.set("runs", view.runs.join(","));
  if (view.metric) out.set("metric", view.metric);
  if (view.params) out.set("params", view.params.join(","));
  if (view.diffOnly) out.set("diff", "only");
  if (view.group) out.set("group", columnId(view.group));
  if (view.band !== "minmax") out.set("band", view.band);
  if (view.scatterX) out.set("sx", columnId(view.scatterX));
  if (view.scatterY) out.set("sy", columnId(view.scatterY));
  writePanels(out, view.panels);
  return writeChartView(out, view);
}

/** "?a=1" or "" — URLSearchParams.toString() encodes spaces as "+", which is fine. */
export function queryString(params: URLSearchParams): string {
  const s = params.toString();
  return s ? `?${s}` : "";
}
