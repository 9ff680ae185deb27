// A run's artifacts and media through /api/v1/runs/{id}/artifacts and /media.
import { API_BASE, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type ArtifactEntry = Schemas["ArtifactEntryRead"];
export type MediaIndex = Schemas["MediaIndex"];
export type ImageSeries = Schemas["ImageSeries"];
export type ImageFrame = Schemas["ImageFrame"];
export type HistogramSeries = Schemas["HistogramSeries"];
export type HistogramStep = Schemas["HistogramStep"];
export type TableRef = Schemas["TableRef"];

/** Previews read at most this much of a file (a range request), so a huge log stays cheap. */
export const PREVIEW_BYTES = 2 * 1024 * 1024;

const runPath = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

/** A path under the run's artifacts as a URL path: "/" kept, every part encoded. */
export function artifactUrl(runId: string, path: string): string {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `${API_BASE}${runPath(runId)}/artifacts/${encoded}`;
}

export async function listAllArtifacts(
  runId: string,
  signal?: AbortSignal,
): Promise<ArtifactEntry[]> {
  const listing = await request<Schemas["ArtifactListing"]>("GET", `${runPath(runId)}/artifacts`, {
    query: { recursive: "true" },
    ...(signal ? { signal } : {}),
  });
  return listing.entries;
}

export async function getMedia(runId: string, signal?: AbortSignal): Promise<MediaIndex> {
  return request<MediaIndex>("GET", `${runPath(runId)}/media`, signal ? { signal } : {});
}

export interface TextPreview {
  text: string;
  /** True when the file is longer than what was read. */
  truncated: boolean;
}

/** The start of a file as text (at most PREVIEW_BYTES, by a range request). */
export async function fetchText(
  runId: string,
  path: string,
  signal?: AbortSignal,
): Promise<TextPreview> {
  const response = await fetch(artifactUrl(runId, path), {
    headers: { Range: `bytes=0-${PREVIEW_BYTES - 1}` },
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const total = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1];
  const text = await response.text();
  return { text, truncated: total !== undefined && Number(total) > PREVIEW_BYTES };
}

export interface TableData {
  columns: string[];
  rows: unknown[][];
}

/** A table logged with `log_table` (its JSON form). */
export async function fetchTable(
  runId: string,
  path: string,
  signal?: AbortSignal,
): Promise<TableData> {
  const response = await fetch(artifactUrl(runId, path), signal ? { signal } : {});
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const body = (await response.json()) as Partial<TableData>;
  return { columns: body.columns ?? [], rows: body.rows ?? [] };
}
