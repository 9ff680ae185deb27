// Shapes of /api/v1 as documented in docs/api-v1.md. Values the server sends as
// "NaN"/"Infinity"/"-Infinity" are turned into numbers by api/client.ts, so the
// rest of the app only ever sees `number`.

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export type LifecycleStage = "active" | "deleted";

/** A metric value on the wire: a JSON number or one of the non-finite strings. */
export type WireNumber = number | "NaN" | "Infinity" | "-Infinity";

export interface Experiment {
  id: number;
  name: string;
  lifecycle_stage: LifecycleStage;
  tags: Record<string, string>;
  creation_time: number;
  last_update_time: number;
  /** Optional dashboard aggregates; shown when the server provides them. */
  run_count?: number;
  active_run_count?: number;
  last_activity_time?: number | null;
}

export interface ExperimentPage {
  experiments: Experiment[];
  next_page_token: string | null;
}

export interface MetricSummary {
  value: number;
  step: number;
  timestamp: number;
  min: number;
  max: number;
  count: number;
}

export interface Run {
  id: string;
  experiment_id: number;
  name: string | null;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  user: string | null;
  lifecycle_stage: LifecycleStage;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricSummary>;
}

export interface RunPage {
  runs: Run[];
  next_page_token: string | null;
}

export interface RunSearchRequest {
  experiment_ids: number[];
  filter?: string;
  order_by?: string[];
  lifecycle_stage?: LifecycleStage | "all";
  limit?: number;
  page_token?: string | null;
}

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
      /** Set when the server sent only part of a large batch: re-fetch instead. */
      truncated?: boolean;
    }
  | { event: "run_updated"; run: Run }
  | { event: "run_created"; run: Run };

export type LiveSubscription = { experiment_id: number } | { run_id: string };
