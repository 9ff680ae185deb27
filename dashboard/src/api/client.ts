// Thin fetch wrapper for /api/v1: decodes non-finite numbers and turns the
// server's `{"error": {"code", "message"}}` bodies into ApiError.
import type {
  Experiment,
  ExperimentPage,
  ExperimentStats,
  LiveEvent,
  LivePoint,
  MetricColumns,
  MetricHistoryQuery,
  MetricSummary,
  Run,
  RunGroups,
  RunPage,
  RunSearchRequest,
} from "./types";
import { noteAnswer } from "./degraded";

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Decodes a wire number ("NaN", "Infinity", "-Infinity" or a JSON number). */
export function decodeNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (typeof value === "string") return Number(value);
  return Number.NaN;
}

function decodeSummary(raw: MetricSummary): MetricSummary {
  return {
    ...raw,
    value: decodeNumber(raw.value),
    min: raw.min === null ? null : decodeNumber(raw.min),
    max: raw.max === null ? null : decodeNumber(raw.max),
  };
}

export function decodeRun(raw: Run): Run {
  const metrics: Record<string, MetricSummary> = {};
  for (const [key, summary] of Object.entries(raw.metrics)) {
    metrics[key] = decodeSummary(summary);
  }
  return { ...raw, params: raw.params, tags: raw.tags, metrics };
}

export function decodeLiveEvent(raw: unknown): LiveEvent | null {
  if (typeof raw !== "object" || raw === null || !("event" in raw)) return null;
  const event = raw as LiveEvent;
  switch (event.event) {
    case "metrics": {
      const points: Record<string, LivePoint[]> = {};
      for (const [key, triples] of Object.entries(event.points)) {
        points[key] = triples.map(([s, v, t]) => [s, decodeNumber(v), t]);
      }
      return { ...event, points };
    }
    case "run_updated":
    case "run_created":
      return { ...event, run: decodeRun(event.run) };
    default:
      return null;
  }
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let code = "HTTP_" + String(response.status);
  let message = response.statusText || `Request failed with status ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    if (body.error?.code) code = body.error.code;
  } catch {
    // Not JSON (e.g. a proxy's error page): keep the status text.
  }
  return new ApiError(response.status, code, message);
}

type Query = Record<string, string | number | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

const CSRF_COOKIE = "tb_csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The login session's CSRF token: a readable cookie the server sets at login, which
 * cookie-authenticated writes must echo in `X-CSRF-Token` (another site cannot read it). */
export function csrfToken(cookies: string): string | null {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, headers };
  if (!SAFE_METHODS.has(method) && typeof document !== "undefined") {
    const token = csrfToken(document.cookie);
    if (token) headers["X-CSRF-Token"] = token;
  }
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(API_BASE + withQuery(path, options.query), init);
  noteAnswer(response.headers);
  if (!response.ok) throw await errorFrom(response);
  // 204 (a DELETE) has no body to parse.
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Path segment for a metric key: keys may contain "/" and the route accepts it as is. */
export function metricKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export async function listExperiments(
  params: {
    name?: string;
    limit?: number;
    page_token?: string | null;
    lifecycle_stage?: "active" | "deleted" | "all";
  },
  signal?: AbortSignal,
): Promise<ExperimentPage> {
  return request<ExperimentPage>("GET", "/experiments", {
    query: {
      name: params.name,
      limit: params.limit ?? 100,
      page_token: params.page_token,
      lifecycle_stage: params.lifecycle_stage,
    },
    ...(signal ? { signal } : {}),
  });
}

export async function getExperiment(id: number, signal?: AbortSignal): Promise<Experiment> {
  return request<Experiment>("GET", `/experiments/${id}`, signal ? { signal } : {});
}

export async function getExperimentStats(
  id: number,
  signal?: AbortSignal,
): Promise<ExperimentStats> {
  return request<ExperimentStats>("GET", `/experiments/${id}/dashboard`, signal ? { signal } : {});
}

/** Runs matching `filter` counted per value of `by` ("params.optimizer"), largest first. */
export async function getRunGroups(
  experimentId: number,
  query: { by: string; filter?: string; lifecycle: "active" | "deleted" },
  signal?: AbortSignal,
): Promise<RunGroups> {
  return request<RunGroups>("GET", `/experiments/${experimentId}/runs/groups`, {
    query,
    ...(signal ? { signal } : {}),
  });
}

export async function login(username: string, password: string): Promise<void> {
  await request<unknown>("POST", "/auth/login", { body: { username, password } });
}

export async function searchRuns(body: RunSearchRequest, signal?: AbortSignal): Promise<RunPage> {
  const page = await request<RunPage>("POST", "/runs/search", {
    body,
    ...(signal ? { signal } : {}),
  });
  return { runs: page.runs.map(decodeRun), next_page_token: page.next_page_token };
}

export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  return decodeRun(
    await request<Run>("GET", `/runs/${encodeURIComponent(runId)}`, signal ? { signal } : {}),
  );
}

interface WireColumns {
  key: string;
  steps: number[];
  values: unknown[];
  timestamps: number[];
  next_page_token: string | null;
}

/** Whole history of one key in columnar form, following pages until the end. */
export async function getMetricHistory(
  runId: string,
  key: string,
  query: MetricHistoryQuery = {},
  signal?: AbortSignal,
): Promise<MetricColumns> {
  const out: MetricColumns = { key, steps: [], values: [], timestamps: [] };
  let pageToken: string | null = null;
  do {
    const page: WireColumns = await request<WireColumns>(
      "GET",
      `/runs/${encodeURIComponent(runId)}/metrics/${metricKeyPath(key)}`,
      {
        query: { ...query, format: "columns", page_token: pageToken },
        ...(signal ? { signal } : {}),
      },
    );
    if (out.steps.length === 0) {
      out.steps = page.steps;
      out.timestamps = page.timestamps;
      out.values = page.values.map(decodeNumber);
    } else {
      for (const s of page.steps) out.steps.push(s);
      for (const t of page.timestamps) out.timestamps.push(t);
      for (const v of page.values) out.values.push(decodeNumber(v));
    }
    pageToken = page.next_page_token;
  } while (pageToken);
  return out;
}
