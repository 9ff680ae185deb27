// uPlot wrapper: rebuilt when the series or axes change, fed new data in place
// otherwise. Drag to zoom (reported, not applied: the caller re-fetches at the
// finer resolution); double-click to reset. Every chart has a legend: uPlot's own
// (with the values under the cursor) for a few series, a compact list of names and
// colours for many. A band (a group's min–max or ±std) is two series, its edges,
// with the area between them shaded.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatValue } from "../components/format";
import type { XAxis } from "../state/urlState";
import type { Aligned } from "./shape";
import { xAxisLabel } from "./xAxis";
import { fitWidth, hostWidth } from "./fitWidth";
import { axisStyle, readTheme, useDarkMode } from "./theme";

// uPlot's Distr is an ambient const enum, which isolatedModules cannot read.
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
const LOG_DISTR = 3 as uPlot.Scale.Distr;

/** Above this many series uPlot's legend table would bury the chart. */
const LIVE_LEGEND_MAX = 12;

const NO_BANDS: ChartBand[] = [];

export interface ChartSeries {
  label: string;
  color: string;
  /** Line width in CSS pixels (band edges are drawn thin). */
  width?: number;
  /** Dash pattern (uPlot's, in CSS pixels): tells apart the keys of a multi-key chart. */
  dash?: number[];
}

/** Shades the area between two series, given by their index in `series` (from 0). */
export interface ChartBand {
  upper: number;
  lower: number;
  fill: string;
}

interface Props {
  data: Aligned;
  series: ChartSeries[];
  axis: XAxis;
  log: boolean;
  bands?: ChartBand[];
  height?: number;
  onZoom?: (min: number, max: number) => void;
  onResetZoom?: () => void;
  testId?: string;
}

function buildOptions(
  width: number,
  height: number,
  series: ChartSeries[],
  axis: XAxis,
  log: boolean,
  bands: readonly ChartBand[],
  callbacks: React.RefObject<Pick<Props, "onZoom" | "onResetZoom">>,
): uPlot.Options {
  const axisLook = axisStyle(readTheme());
  return {
    width,
    height,
    pxAlign: false,
    legend: { show: series.length <= LIVE_LEGEND_MAX, live: true },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 5 } },
    scales: {
      x: { time: axis === "time" },
      y: log ? { distr: LOG_DISTR, log: 10 } : {},
    },
    axes: [
      axisLook,
      {
        ...axisLook,
        size: 60,
        // A log axis passes null for the ticks it leaves unlabelled.
        // (uPlot's types say number; its log filter hands over nulls.)
        values: (_u, vals) => vals.map((v: number | null) => (v === null ? "" : formatValue(v))),
      },
    ],
    series: [
      { label: xAxisLabel(axis) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? 1.25,
        ...(s.dash ? { dash: s.dash } : {}),
        points: { show: false },
        spanGaps: false,
        value: (_u: uPlot, v: number | null) => formatValue(v),
      })),
    ],
    // uPlot counts the x values as series 0.
    bands: bands.map((b) => ({ series: [b.upper + 1, b.lower + 1], fill: b.fill })),
    hooks: {
      setSelect: [
        (u) => {
          const { left, width: w } = u.select;
          if (w > 4) {
            const min = u.posToVal(left, "x");
            const max = u.posToVal(left + w, "x");
            callbacks.current.onZoom?.(min, max);
          }
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        },
      ],
      ready: [
        (u) => {
          u.over.addEventListener("dblclick", () => callbacks.current.onResetZoom?.());
        },
      ],
    },
  };
}

export function MetricChart(props: Props) {
  const { data, series, axis, log, bands = NO_BANDS, height = 260, testId } = props;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const callbacks = useRef<Pick<Props, "onZoom" | "onResetZoom">>({});
  const dataRef = useRef(data);
  const dark = useDarkMode();
  useEffect(() => {
    callbacks.current = { onZoom: props.onZoom, onResetZoom: props.onResetZoom };
    dataRef.current = data;
  });

  const seriesKey =
    series.map((s) => `${s.label}\u0000${s.color}\u0000${s.width ?? ""}\u0000${s.dash?.join(",") ?? ""}`).join("\u0001") +
    bands.map((b) => `\u0002${b.upper},${b.lower},${b.fill}`).join("");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = hostWidth(el);
    const u = new uPlot(
      buildOptions(width, height, series, axis, log, bands, callbacks),
      dataRef.current,
      el,
    );
    plot.current = u;
    const stop = fitWidth(u, el, height);
    return () => {
      stop();
      plot.current = null;
    };
    // seriesKey stands for `series` and `bands`; dark re-reads the CSS theme.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [seriesKey, axis, log, height, dark]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <>
      <div ref={box} className="chart-host" data-testid={testId} />
      {series.length > LIVE_LEGEND_MAX ? (
        <div className="legend compact" data-testid="chart-legend">
          {series.map((s, i) => (
            // Labels may repeat (two runs of the same name): the position is the identity.
            <span key={i}>
              <span className="swatch" style={{ background: s.color }} />
              {s.label}
            </span>
          ))}
        </div>
      ) : null}
    </>
  );
}
