// MLflow's web UI routes in the URL hash (`/#/experiments/3/runs/<id>`), and its client
// prints such links after every run: they are translated to our pages when the app loads.

/** The Trackboard page for an MLflow hash route, or null when the hash is not one. */
export function translateMlflowHash(hash: string): string | null {
  if (!hash.startsWith("#/") && hash !== "#") return null;
  const url = new URL(hash.slice(1) || "/", "http://x");
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodePart);
  const query = url.searchParams;
  const [first, second, third, fourth] = parts;
  switch (first) {
    case undefined:
      return "/";
    case "experiments":
      if (second === undefined || !/^\d+$/.test(second)) return "/";
      if (third === "runs" && fourth) return runPath(fourth);
      if (third === "models") return "/models";
      return `/experiments/${second}`;
    case "runs":
      return second ? runPath(second) : "/";
    case "compare-runs":
      return comparePath(idList(query.get("runs")), null);
    case "metric":
      // Old links name the metric in the path (`/metric/<key>`), newer ones in the query.
      return comparePath(idList(query.get("runs")), second ?? jsonString(query.get("metric")));
    case "models":
      return "/models";
    default:
      // Other MLflow pages (compare-experiments, prompts, traces…) have no counterpart.
      return "/";
  }
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

/** One run is shown on its own page; several are compared. */
function comparePath(runs: string[], metric: string | null): string {
  if (runs.length === 0) return "/";
  if (runs.length === 1 && !metric) return runPath(runs[0] ?? "");
  const search = new URLSearchParams({ runs: runs.join(",") });
  if (metric) search.set("metric", metric);
  return `/compare?${search.toString()}`;
}

/** MLflow writes id lists as JSON arrays (`["a","b"]`); a plain comma list is accepted. */
function idList(raw: string | null): string[] {
  if (!raw) return [];
  const parsed = parseJson(raw);
  const items = Array.isArray(parsed) ? parsed : raw.split(",");
  const ids = items
    .filter((item): item is string | number => typeof item === "string" || typeof item === "number")
    .map((item) => String(item).trim())
    .filter((id) => /^[A-Za-z0-9_-]+$/.test(id));
  return [...new Set(ids)];
}

/** MLflow writes the metric key as a JSON string (`"loss"`); a bare key is accepted. */
function jsonString(raw: string | null): string | null {
  if (!raw) return null;
  const parsed = parseJson(raw);
  return typeof parsed === "string" ? parsed : raw;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
