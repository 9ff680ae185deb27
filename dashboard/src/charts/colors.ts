// Series colours: a fixed categorical palette for runs, a perceptual ramp for values.

const PALETTE = [
  "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed",
  "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5",
];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

// Viridis stops: readable on light and dark backgrounds, ordered in lightness.
const RAMP: [number, number, number][] = [
  [68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37],
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
