// A run for unit tests: every field filled with a neutral value, overridden as needed.
import type { Run } from "./types";

export function makeRun(id: string, overrides: Partial<Run> = {}): Run {
  return {
    id,
    experiment_id: 1,
    name: id,
    status: "FINISHED",
    start_time: 0,
    end_time: null,
    user: "",
    lifecycle_stage: "active",
    params: {},
    tags: {},
    metrics: {},
    ...overrides,
  };
}
