// Steps of a media series: which frame a slider position shows, and histogram shading.

/** Index of the last item whose step is at or before `step` (items in step order); the
 * first item when `step` comes before all of them; -1 for none. */
export function indexAtStep(items: readonly { step: number }[], step: number): number {
  if (items.length === 0) return -1;
  let low = 0;
  let high = items.length - 1;
  if (step < (items[0]?.step ?? 0)) return 0;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((items[middle]?.step ?? 0) <= step) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The range every histogram of a series spans, for one shared x axis. */
export function histogramRange(
  steps: readonly { bins: number[] }[],
): [number, number] | null {
  let low = Infinity;
  let high = -Infinity;
  for (const { bins } of steps) {
    if (bins.length === 0) continue;
    low = Math.min(low, bins[0] ?? low);
    high = Math.max(high, bins[bins.length - 1] ?? high);
  }
  return Number.isFinite(low) && Number.isFinite(high) && high > low ? [low, high] : null;
}

/** Count per pixel column across [low, high] for one histogram: what a row of the
 * over-steps heat map draws. Each bin's count is spread over the columns it covers. */
export function binColumns(
  bins: readonly number[],
  counts: readonly number[],
  low: number,
  high: number,
  width: number,
): number[] {
  const columns = new Array<number>(width).fill(0);
  const scale = width / (high - low);
  counts.forEach((count, i) => {
    const left = ((bins[i] ?? low) - low) * scale;
    const right = ((bins[i + 1] ?? high) - low) * scale;
    const first = Math.max(0, Math.floor(left));
    const last = Math.min(width - 1, Math.max(first, Math.ceil(right) - 1));
    const share = count / (last - first + 1);
    for (let x = first; x <= last; x++) columns[x] = (columns[x] ?? 0) + share;
  });
  return columns;
}
