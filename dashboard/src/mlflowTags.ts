// MLflow's system tags (`mlflow.*`): which run fields they stand for, and the split
// between them and the tags a user set. MLflow's client writes them; the dashboard reads
// them so runs logged with MLflow show their name, user, source, parent and notes.
import type { Run } from "./api/types";

export const SYSTEM_PREFIX = "mlflow.";
export const PARENT_RUN_TAG = "mlflow.parentRunId";
export const NOTE_TAG = "mlflow.note.content";
const RUN_NAME_TAG = "mlflow.runName";
const USER_TAG = "mlflow.user";
const SOURCE_PREFIX = "mlflow.source.";

export function isSystemTag(key: string): boolean {
  return key.startsWith(SYSTEM_PREFIX);
}

/** User tags and system tags apart; the note is neither (it has its own section). */
export function splitTags(tags: Record<string, string>): {
  user: Record<string, string>;
  system: Record<string, string>;
} {
  const user: Record<string, string> = {};
  const system: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (k === NOTE_TAG) continue;
    if (isSystemTag(k)) system[k] = v;
    else user[k] = v;
  }
  return { user, system };
}

/** The run's name: its own, else MLflow's run-name tag, else the start of its id. */
export function runDisplayName(run: Pick<Run, "id" | "name" | "tags">): string {
  return run.name || run.tags[RUN_NAME_TAG] || run.id.slice(0, 8);
}

export function runUser(run: Pick<Run, "user" | "tags">): string {
  return run.user || run.tags[USER_TAG] || "";
}

export function parentRunId(run: Pick<Run, "tags">): string | null {
  return run.tags[PARENT_RUN_TAG] || null;
}

export interface RunSource {
  /** e.g. "train.py" or a notebook path. */
  name: string | null;
  /** LOCAL, NOTEBOOK, JOB, PROJECT… */
  type: string | null;
  commit: string | null;
  branch: string | null;
  repo: string | null;
}

/** Where the run's code came from, as `mlflow.source.*` says. */
export function runSource(run: Pick<Run, "tags">): RunSource | null {
  const t = run.tags;
  const get = (key: string) => t[SOURCE_PREFIX + key] || null;
  const source: RunSource = {
    name: get("name"),
    type: get("type"),
    commit: get("git.commit"),
    branch: get("git.branch"),
    repo: get("git.repoURL"),
  };
  return Object.values(source).some((v) => v !== null) ? source : null;
}
