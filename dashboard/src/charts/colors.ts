// Series colours: a fixed categorical palette for runs, a perceptual ramp for values.

const PALETTE = [
  "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed",
  "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5",
];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/** A palette colour ("#rrggbb") at an opacity, for lines drawn on a canvas. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 255);
  return hex + a.toString(16).padStart(2, "0");
}

// Blue → purple → pink → amber: every stop stays visible on light and dark backgrounds.
const RAMP: [number, number, number][] = [
  [59, 130, 246], [124, 58, 237], [219, 39, 119], [234, 88, 12], [245, 158, 11],
];

export function rampColor(t: number | null, alpha = 1): string {
  if (t === null || !Number.isFinite(t)) return `rgba(128,128,128,${alpha * 0.5})`;
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2);
  const f = x - i;
  const a = RAMP[i] as [number, number, number];
  const b = RAMP[i + 1] as [number, number, number];
  const c = a.map((v, k) => Math.round(v + (b[k] as number - v) * f));
  return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
}
