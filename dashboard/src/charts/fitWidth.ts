// Keeps a uPlot chart as wide as its host element; charts are sized in pixels.
import type uPlot from "uplot";

/** Narrower hosts still get a readable chart (it scrolls). */
export const MIN_CHART_WIDTH = 200;

export function hostWidth(el: HTMLElement): number {
  return Math.max(el.clientWidth, MIN_CHART_WIDTH);
}

/** Follows the host's width; the returned function stops following and destroys the chart. */
export function fitWidth(u: uPlot, el: HTMLElement, height: number): () => void {
  const observer = new ResizeObserver(() => {
    const w = hostWidth(el);
    if (w !== u.width) u.setSize({ width: w, height });
  });
  observer.observe(el);
  return () => {
    observer.disconnect();
    u.destroy();
  };
}
