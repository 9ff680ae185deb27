// Shapes of /api/v1: generated from the server's OpenAPI (schema.d.ts, `npm run
// gen:api`), narrowed where the schema is looser than docs/api-v1.md (status
// enums, non-finite metric values). Values the server sends as "NaN"/"Infinity"/
// "-Infinity" are turned into numbers by api/client.ts, so the rest of the app
// only ever sees `number`.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export type LifecycleStage = "active" | "deleted";

/** A metric value on the wire: a JSON number or one of the non-finite strings. */
export type WireNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface Experiment extends Omit<Schemas["ExperimentRead"], "lifecycle_stage"> {
  lifecycle_stage: LifecycleStage;
  /** Optional dashboard aggregates; shown when the server provides them. */
  run_count?: number;
  active_run_count?: number;
  last_activity_time?: number | null;
}

export interface ExperimentPage {
  experiments: Experiment[];
  next_page_token: string | null;
}

/** min/max are null while a key has only non-finite values. */
export type MetricSummary = Schemas["MetricSummaryRead"];

export interface Run extends Omit<Schemas["RunRead"], "status" | "lifecycle_stage" | "metrics"> {
  status: RunStatus;
  lifecycle_stage: LifecycleStage;
  metrics: Record<string, MetricSummary>;
}

export interface RunPage {
  runs: Run[];
  next_page_token: string | null;
}

export type RunSearchRequest = Pick<Schemas["RunSearch"], "experiment_ids"> &
  Partial<Omit<Schemas["RunSearch"], "experiment_ids">>;

/** Metric history in columnar form, already decoded to numbers. */
export interface MetricColumns {
  key: string;
  steps: number[];
  values: number[];
  timestamps: number[];
}

export interface MetricHistoryQuery {
  max_points?: number;
  start_step?: number;
  end_step?: number;
}

/** Triple as carried by live events: [step, value, timestamp]. */
export type LivePoint = [number, number, number];

export type LiveEvent =
  | {
      event: "metrics";
      run_id: string;
      experiment_id: number;
      points: Record<string, LivePoint[]>;
      /**
       * Set when a key had more points than the server sends: `points` then holds each
       * key's latest point only; re-fetch the run and its histories instead.
       */
      truncated?: boolean;
    }
  | { event: "run_updated"; run: Run }
  | { event: "run_created"; run: Run };

/** GET /experiments/{id}/dashboard (cached 30 s by the server). */
export type ExperimentStats = components["schemas"]["ExperimentDashboard"];
export type RunGroups = components["schemas"]["RunGroups"];

export type LiveSubscription = { experiment_id: number } | { run_id: string };
