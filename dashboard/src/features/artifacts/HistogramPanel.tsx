// One histogram series: a heat map of every step (a row each, darker where more values
// fall) and the chosen step's bars, on one x axis shared by all steps.
import { useEffect, useMemo, useRef, useState } from "react";
import type { HistogramSeries } from "./api";
import { binColumns, histogramRange } from "./steps";

const WIDTH = 480;
const HEAT_HEIGHT = 160;
const BARS_HEIGHT = 120;

function accent(canvas: HTMLCanvasElement): string {
  return getComputedStyle(canvas).getPropertyValue("--accent").trim() || "#3b82f6";
}

export function HistogramPanel({ series }: { series: HistogramSeries }) {
  const steps = series.steps;
  const [index, setIndex] = useState(steps.length - 1);
  const heat = useRef<HTMLCanvasElement>(null);
  const bars = useRef<HTMLCanvasElement>(null);
  // One object per series, so the heat map is drawn again only when the data change.
  const range = useMemo(() => histogramRange(steps), [steps]);
  const current = steps[Math.min(Math.max(index, 0), steps.length - 1)];

  useEffect(() => {
    const canvas = heat.current;
    const context = canvas?.getContext("2d");
    if (!canvas || !context || !range) return;
    context.clearRect(0, 0, WIDTH, HEAT_HEIGHT);
    context.fillStyle = accent(canvas);
    const rowHeight = HEAT_HEIGHT / steps.length;
    steps.forEach((step, row) => {
      const columns = binColumns(step.bins, step.counts, range[0], range[1], WIDTH);
      const peak = Math.max(...columns, 1e-12);
      columns.forEach((value, x) => {
        if (value <= 0) return;
        context.globalAlpha = 0.1 + 0.9 * (value / peak);
        context.fillRect(x, row * rowHeight, 1, Math.max(rowHeight, 1));
      });
    });
    context.globalAlpha = 1;
  }, [steps, range]);

  useEffect(() => {
    const canvas = bars.current;
    const context = canvas?.getContext("2d");
    if (!canvas || !context || !range || !current) return;
    context.clearRect(0, 0, WIDTH, BARS_HEIGHT);
    context.fillStyle = accent(canvas);
    const peak = Math.max(...current.counts, 1e-12);
    const scale = WIDTH / (range[1] - range[0]);
    current.counts.forEach((count, i) => {
      const left = ((current.bins[i] ?? range[0]) - range[0]) * scale;
      const right = ((current.bins[i + 1] ?? range[1]) - range[0]) * scale;
      const height = (count / peak) * BARS_HEIGHT;
      context.fillRect(left, BARS_HEIGHT - height, Math.max(right - left - 0.5, 1), height);
    });
  }, [current, range]);

  if (!current || !range) return null;
  return (
    <figure className="media-card" data-testid="histogram-series" data-key={series.key}>
      <figcaption className="media-title">
        <strong>{series.key}</strong>
        <span className="muted" data-testid="histogram-step">
          step {current.step}
        </span>
        <span className="muted">
          {range[0].toPrecision(3)} … {range[1].toPrecision(3)}
        </span>
      </figcaption>
      <canvas ref={heat} width={WIDTH} height={HEAT_HEIGHT} className="media-canvas" aria-label="every step" />
      <canvas ref={bars} width={WIDTH} height={BARS_HEIGHT} className="media-canvas" aria-label="chosen step" />
      <input
        type="range"
        min={0}
        max={steps.length - 1}
        value={index}
        aria-label={`${series.key} step`}
        data-testid="histogram-slider"
        onChange={(e) => setIndex(Number(e.currentTarget.value))}
      />
    </figure>
  );
}
