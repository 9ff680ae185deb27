// What the compare endpoint's group bands become on a chart: the mean line and the two
// edges of the band the user chose (min–max, or mean ∓ one std), and the step range a
// zoom on the grid covers. Pure functions, for the chart and the tests.
import type { GroupBand } from "../../api/compare";
import type { XY } from "../../charts/shape";
import type { BandKind } from "../../state/urlState";

export interface BandLines {
  mean: XY;
  upper: XY;
  lower: XY;
}

export function bandLines(group: GroupBand, kind: BandKind): BandLines {
  const x = group.x;
  const mean = group.mean;
  if (kind === "minmax") {
    return { mean: { x, y: mean }, upper: { x, y: group.max }, lower: { x, y: group.min } };
  }
  const edge = (sign: 1 | -1) =>
    mean.map((m, i) => {
      const sd = group.std[i];
      return m === null || sd === null || sd === undefined ? null : m + sign * sd;
    });
  return { mean: { x, y: mean }, upper: { x, y: edge(1) }, lower: { x, y: edge(-1) } };
}

/**
 * The steps behind the grid x values in [min, max], from each x's mean step across the
 * groups (on the step axis the grid is the step itself): what a zoom asks for.
 */
export function bandStepRange(groups: readonly GroupBand[], min: number, max: number): [number, number] | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const g of groups) {
    g.x.forEach((x, i) => {
      const step = g.steps[i];
      if (x < min || x > max || step === null || step === undefined) return;
      lo = Math.min(lo, Math.floor(step));
      hi = Math.max(hi, Math.ceil(step));
    });
  }
  return lo <= hi ? [lo, hi] : null;
}
