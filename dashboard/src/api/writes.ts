// Edits through /api/v1: rename, tags, soft delete and restore of runs and experiments,
// and who the caller is (to hide what their role may not do). The server enforces roles;
// these only send the request and let ApiError carry its answer.
import { decodeRun, request } from "./client";
import type { components } from "./schema";
import type { Experiment, Run } from "./types";

export type Identity = components["schemas"]["Identity"];

const runPath = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

export async function renameRun(runId: string, name: string): Promise<Run> {
  return decodeRun(await request<Run>("PATCH", runPath(runId), { body: { name } }));
}

/** Sets (adds or overwrites) tags; answers the run's whole tag set. */
export async function setRunTags(
  runId: string,
  tags: Record<string, string>,
): Promise<Record<string, string>> {
  const read = await request<{ tags: Record<string, string> }>("POST", `${runPath(runId)}/tags`, {
    body: { tags },
  });
  return read.tags;
}

export async function deleteRunTag(runId: string, key: string): Promise<void> {
  // The route takes the rest of the path as the key, so "/" in a key stays as is.
  const keyPath = key.split("/").map(encodeURIComponent).join("/");
  await request<undefined>("DELETE", `${runPath(runId)}/tags/${keyPath}`);
}

export async function deleteRun(runId: string): Promise<Run> {
  return decodeRun(await request<Run>("DELETE", runPath(runId)));
}

export async function restoreRun(runId: string): Promise<Run> {
  return decodeRun(await request<Run>("POST", `${runPath(runId)}/restore`));
}

export async function renameExperiment(id: number, name: string): Promise<Experiment> {
  return request<Experiment>("PATCH", `/experiments/${id}`, { body: { name } });
}

export async function deleteExperiment(id: number): Promise<Experiment> {
  return request<Experiment>("DELETE", `/experiments/${id}`);
}

export async function restoreExperiment(id: number): Promise<Experiment> {
  return request<Experiment>("POST", `/experiments/${id}/restore`);
}

export async function getIdentity(signal?: AbortSignal): Promise<Identity> {
  return request<Identity>("GET", "/auth/me", signal ? { signal } : {});
}
