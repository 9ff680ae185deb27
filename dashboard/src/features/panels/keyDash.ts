// How the keys of one multi-key chart are told apart when colour already names the run
// (compare page): the first key solid, the next ones dashed, dotted, dash-dotted.
const DASHES: (number[] | undefined)[] = [undefined, [8, 4], [2, 3], [8, 3, 2, 3]];

export function keyDash(index: number): number[] | undefined {
  return DASHES[index % DASHES.length];
}
