// A run's value in one column ("params.lr", "tags.model", "metrics.acc",
// "attributes.status"): what grouping, the scatter plot and importance read.
import type { Run } from "../../api/types";
import type { ColumnRef } from "../../state/identifiers";

/** Metrics give their latest value; params, tags and attributes their text; null if absent. */
export function runValue(run: Run, ref: ColumnRef): string | number | null {
  switch (ref.kind) {
    case "metrics":
      return run.metrics[ref.key]?.value ?? null;
    case "params":
      return run.params[ref.key] ?? null;
    case "tags":
      return run.tags[ref.key] ?? null;
    case "attributes":
      return attribute(run, ref.key);
  }
}

function attribute(run: Run, key: string): string | number | null {
  switch (key) {
    case "run_name":
      return run.name;
    case "status":
      return run.status;
    case "user":
      return run.user;
    case "start_time":
      return run.start_time;
    case "end_time":
      return run.end_time;
    default:
      return null;
  }
}

/** The value as a finite number, or null (a param "0.1" reads as 0.1; "adam" as null). */
export function numericRunValue(run: Run, ref: ColumnRef): number | null {
  const v = runValue(run, ref);
  if (v === null) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (v.trim() === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
