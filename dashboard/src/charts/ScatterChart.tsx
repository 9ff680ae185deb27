// Points (one per run) with uPlot: each point is its own series so it keeps its
// run's colour; no lines. Hovering a point names it in a tooltip.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatValue } from "../components/format";
import { alignSeries } from "./shape";
import { fitWidth, hostWidth } from "./fitWidth";
import { axisStyle, readTheme, useDarkMode } from "./theme";

export interface ScatterPoint {
  label: string;
  color: string;
  x: number;
  y: number;
}

/** How close (CSS pixels) the cursor must come to a point to name it. */
const HOVER_RADIUS = 12;

function nearest(u: uPlot, points: readonly ScatterPoint[]): ScatterPoint | null {
  const { left, top } = u.cursor;
  if (left === undefined || top === undefined || left < 0) return null;
  let best: ScatterPoint | null = null;
  let bestDistance = HOVER_RADIUS;
  for (const p of points) {
    const d = Math.hypot(u.valToPos(p.x, "x") - left, u.valToPos(p.y, "y") - top);
    if (d <= bestDistance) {
      best = p;
      bestDistance = d;
    }
  }
  return best;
}

function padded(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const pad = min === max ? Math.abs(min) * 0.1 || 1 : (max - min) * 0.06;
  return [min - pad, max + pad];
}

export function ScatterChart({
  points,
  xLabel,
  yLabel,
  height = 320,
}: {
  points: ScatterPoint[];
  xLabel: string;
  yLabel: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const dark = useDarkMode();

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = {
      ...axisStyle(readTheme()),
      values: (_u: uPlot, vals: number[]) => vals.map((v) => formatValue(v)),
    };
    const u = new uPlot(
      {
        width: hostWidth(el),
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false } },
        // Padded, so that the points at either end are not cut in half by the frame.
        scales: { x: { time: false, range: padded }, y: { range: padded } },
        axes: [
          { ...axis, label: xLabel },
          { ...axis, label: yLabel, size: 60 },
        ],
        series: [
          { label: xLabel },
          ...points.map((p) => ({
            label: p.label,
            stroke: p.color,
            fill: p.color,
            paths: () => null,
            points: { show: true, size: 9, stroke: p.color, fill: p.color },
          })),
        ],
        hooks: {
          setCursor: [
            (plot: uPlot) => {
              const t = tip.current;
              if (!t) return;
              const hit = nearest(plot, points);
              if (!hit) {
                t.style.display = "none";
                return;
              }
              t.textContent = `${hit.label}: ${xLabel} ${formatValue(hit.x)}, ${yLabel} ${formatValue(hit.y)}`;
              t.style.display = "block";
              t.style.left = `${plot.valToPos(hit.x, "x") + plot.over.offsetLeft + 10}px`;
              t.style.top = `${plot.valToPos(hit.y, "y") + plot.over.offsetTop - 10}px`;
            },
          ],
        },
      },
      alignSeries(points.map((p) => ({ x: [p.x], y: [p.y] }))),
      el,
    );
    return fitWidth(u, el, height);
  }, [points, xLabel, yLabel, height, dark]);

  return (
    <div className="scatter-host">
      <div ref={box} className="chart-host" data-testid="scatter-chart" data-points={points.length} />
      <div ref={tip} className="scatter-tip" data-testid="scatter-tip" />
    </div>
  );
}
