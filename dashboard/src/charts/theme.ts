// Chart colours follow the CSS theme, which follows prefers-color-scheme.
import { useSyncExternalStore } from "react";

const query = "(prefers-color-scheme: dark)";

function subscribe(cb: () => void): () => void {
  const mq = window.matchMedia(query);
  mq.addEventListener("change", cb);
  return () => mq.removeEventListener("change", cb);
}

export function useDarkMode(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => window.matchMedia(query).matches,
    () => false,
  );
}

export interface ChartTheme {
  fg: string;
  muted: string;
  grid: string;
  bg: string;
}

export function readTheme(): ChartTheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v("--fg", "#16191d"),
    muted: v("--fg-muted", "#5c6570"),
    grid: v("--grid", "rgba(0,0,0,0.08)"),
    bg: v("--bg", "#ffffff"),
  };
}

/** Axis colours of every uPlot chart: muted labels, a faint grid and ticks. */
export function axisStyle(theme: ChartTheme) {
  return {
    stroke: theme.muted,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
  };
}
