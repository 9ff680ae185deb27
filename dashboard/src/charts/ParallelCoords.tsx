// Parallel coordinates on a canvas: one vertical axis per param, the metric
// last; each run a polyline in its run colour (the one its chart series and legend
// use), or coloured by its metric value when no run colours are given.
import { useEffect, useRef } from "react";
import { rampColor, withAlpha } from "./colors";
import type { ParallelData } from "./parallel";
import { readTheme, useDarkMode } from "./theme";

const MARGIN = { top: 28, bottom: 22, left: 56, right: 56 };

export function drawParallel(
  canvas: HTMLCanvasElement,
  data: ParallelData,
  width: number,
  height: number,
  lineColors?: readonly string[],
): void {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const theme = readTheme();
  const n = data.axes.length;
  if (n === 0) return;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const xAt = (i: number) => MARGIN.left + (n === 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const yAt = (p: number) => MARGIN.top + (1 - p) * plotH;

  // Lines first, axes on top so labels stay readable.
  ctx.lineWidth = 1.25;
  const alpha = data.lines.length > 200 ? 0.35 : 0.8;
  data.lines.forEach((line, r) => {
    const own = lineColors?.[r];
    ctx.strokeStyle = own ? withAlpha(own, alpha) : rampColor(data.color[r] ?? null, alpha);
    ctx.beginPath();
    let pen = false;
    line.forEach((p, i) => {
      if (p === null) {
        pen = false;
        return;
      }
      if (pen) ctx.lineTo(xAt(i), yAt(p));
      else ctx.moveTo(xAt(i), yAt(p));
      pen = true;
    });
    ctx.stroke();
  });

  ctx.font = "11px system-ui, sans-serif";
  data.axes.forEach((axis, i) => {
    const x = xAt(i);
    ctx.strokeStyle = theme.muted;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x, MARGIN.top);
    ctx.lineTo(x, MARGIN.top + plotH);
    ctx.stroke();
    ctx.fillStyle = theme.fg;
    ctx.textAlign = "center";
    ctx.fillText(axis.label, x, MARGIN.top - 12, Math.max(60, plotW / Math.max(n - 1, 1)));
    ctx.fillStyle = theme.muted;
    ctx.textAlign = i === n - 1 && n > 1 ? "left" : "right";
    const dx = i === n - 1 && n > 1 ? 5 : -5;
    const step = Math.max(1, Math.ceil(axis.ticks.length / 8));
    axis.ticks.forEach((t, k) => {
      if (k % step !== 0 && k !== axis.ticks.length - 1) return;
      ctx.fillText(t.label.slice(0, 12), x + dx, yAt(t.pos) + 4);
    });
  });
}

export function ParallelCoords({
  data,
  lineColors,
}: {
  data: ParallelData;
  /** One per line (run), in the order of `data.lines`. */
  lineColors?: readonly string[];
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const dark = useDarkMode();
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const draw = () =>
      drawParallel(canvas, data, canvas.clientWidth, canvas.clientHeight, lineColors);
    draw();
    const observer = new ResizeObserver(draw);
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [data, dark, lineColors]);
  return (
    <canvas
      ref={ref}
      className="pc-canvas"
      data-testid="parallel-coords"
      role="img"
      aria-label={`Parallel coordinates of ${data.axes.map((a) => a.label).join(", ")}`}
    />
  );
}
