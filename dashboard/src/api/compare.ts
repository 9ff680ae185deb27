// One compare chart in one request (POST /api/v1/runs/compare): each run's series of a
// key downsampled, or, for groups of runs, their mean, min, max and std on a common x
// grid computed by the server. The server checks that the caller may read every run.
import { decodeNumber, request } from "./client";
import type { components } from "./schema";
import type { MetricColumns } from "./types";

type Schemas = components["schemas"];
export type CompareSeriesQuery = Schemas["CompareSeriesQuery"];
export type GroupBand = Schemas["GroupBand"];

export interface CompareSeries {
  key: string;
  /** Per run (those logging the key, in the order asked), decoded to numbers. */
  lines: { runId: string; data: MetricColumns }[];
  groups: GroupBand[];
}

export async function compareSeries(query: CompareSeriesQuery, signal?: AbortSignal): Promise<CompareSeries> {
  const raw = await request<Schemas["CompareSeries"]>("POST", "/runs/compare", {
    body: query,
    ...(signal ? { signal } : {}),
  });
  return {
    key: raw.key,
    lines: raw.lines.map((line) => ({
      runId: line.run_id,
      data: {
        key: raw.key,
        steps: line.steps,
        values: line.values.map(decodeNumber),
        timestamps: line.timestamps,
      },
    })),
    groups: raw.groups,
  };
}
