// Chart panels: which metric keys the run and compare pages chart, in what order, and
// which keys share a chart. A panel is a list of keys; no panels in the URL means one
// panel per key (the pages' behaviour before panels existed). Pure functions, shared by
// both pages, the Charts control and the tests.

/** One chart: a series per key (per run on the compare page). */
export type Panel = readonly string[];

/** The URL parameter holding the panels. */
export const PANELS_PARAM = "panels";

// Within the parameter, panels are separated by ";" and keys by ",". A key may contain
// either, so those two and "%" (the escape itself) are percent-escaped in each key; every
// other character stays as it is ("/", "." and spaces read as themselves in the URL).
const ESCAPES: Record<string, string> = { "%": "%25", ",": "%2C", ";": "%3B" };
const UNESCAPES: Record<string, string> = { "25": "%", "2C": ",", "3B": ";" };

function escapeKey(key: string): string {
  return key.replace(/[%,;]/g, (c) => ESCAPES[c] ?? c);
}

function unescapeKey(text: string): string {
  // Only the three escapes this module writes are read back; any other "%" is kept
  // literally, so a hand-edited URL cannot make the parser throw.
  return text.replace(/%(25|2C|3B)/gi, (whole, hex: string) => UNESCAPES[hex.toUpperCase()] ?? whole);
}

/** Drops empty panels, repeated keys within a panel and repeated panels. */
export function normalizePanels(panels: readonly Panel[]): Panel[] {
  const seen = new Set<string>();
  const out: Panel[] = [];
  for (const panel of panels) {
    const keys = [...new Set(panel.filter((k) => k !== ""))];
    const id = encodePanels([keys]);
    if (keys.length === 0 || seen.has(id)) continue;
    seen.add(id);
    out.push(keys);
  }
  return out;
}

/** The parameter's value for `panels` (before URLSearchParams' own encoding). */
export function encodePanels(panels: readonly Panel[]): string {
  return panels.map((p) => p.map(escapeKey).join(",")).join(";");
}

/** Total: null (the default layout) when the parameter is absent; "" is no panel at all. */
export function parsePanels(search: URLSearchParams): Panel[] | null {
  const raw = search.get(PANELS_PARAM);
  if (raw === null) return null;
  if (raw === "") return [];
  return normalizePanels(raw.split(";").map((p) => p.split(",").map(unescapeKey)));
}

/** Sets (or, for the default layout, removes) the parameter on `out`. */
export function writePanels(out: URLSearchParams, panels: readonly Panel[] | null): URLSearchParams {
  if (panels === null) out.delete(PANELS_PARAM);
  else out.set(PANELS_PARAM, encodePanels(normalizePanels(panels)));
  return out;
}

/** The panels a page shows: the chosen ones, or one per key by default. */
export function resolvePanels(panels: readonly Panel[] | null, keys: readonly string[]): Panel[] {
  return panels === null ? keys.map((k) => [k]) : [...panels];
}

/**
 * The panels drawn: each panel's keys that the page has data for, in the chosen order.
 * A panel none of whose keys are logged (yet) is left out rather than drawn empty, and
 * one that comes down to another's keys is drawn once.
 */
export function drawnPanels(panels: readonly Panel[], keys: readonly string[]): Panel[] {
  const known = new Set(keys);
  // Normalised again: two panels may come down to the same keys.
  return normalizePanels(panels.map((p) => p.filter((k) => known.has(k))));
}

/** Whether `key` has a chart of its own. */
export function isShown(panels: readonly Panel[], key: string): boolean {
  return panels.some((p) => p.length === 1 && p[0] === key);
}

/** Shows `key` on a chart of its own at the end, or hides that chart. */
export function toggleKey(panels: readonly Panel[], key: string): Panel[] {
  return isShown(panels, key)
    ? panels.filter((p) => !(p.length === 1 && p[0] === key))
    : [...panels, [key]];
}

export function addPanel(panels: readonly Panel[], keys: readonly string[]): Panel[] {
  return normalizePanels([...panels, keys]);
}

export function removePanel(panels: readonly Panel[], index: number): Panel[] {
  return panels.filter((_, i) => i !== index);
}

/** Moves the panel at `index` by `by` places (-1 up, +1 down); out of range is a no-op. */
export function movePanel(panels: readonly Panel[], index: number, by: -1 | 1): Panel[] {
  const to = index + by;
  if (index < 0 || index >= panels.length || to < 0 || to >= panels.length) return [...panels];
  const out = [...panels];
  const [moved] = out.splice(index, 1);
  if (moved) out.splice(to, 0, moved);
  return out;
}

/** A stable React key and readable name for a panel. */
export function panelTitle(panel: Panel): string {
  return panel.join(" + ");
}
