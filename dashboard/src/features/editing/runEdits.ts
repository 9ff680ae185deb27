// Run edits as TanStack mutations: the cached copies change at once (optimistic), the
// server's answer replaces them, and a refusal puts them back and says why in a toast.
// Deleting offers Undo (a restore) for a few seconds.
import { useMutation, useQueryClient, type QueryClient } from "@tanstack/react-query";
import type { Run } from "../../api/types";
import { deleteRun, deleteRunTag, renameRun, restoreRun, setRunTags } from "../../api/writes";
import { showError, showToast } from "../../components/toastStore";
import { forEachLimited } from "./bulk";
import { cancelRunReads, patchRuns, storeRun, type Rollback } from "./cacheEdits";

export function useRenameRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ runId, name }: { runId: string; name: string }) => renameRun(runId, name),
    onMutate: async ({ runId, name }): Promise<Rollback> => {
      await cancelRunReads(queryClient, [runId]);
      return patchRuns(queryClient, [runId], (r) => ({ ...r, name }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Rename");
    },
    onSuccess: (run) => storeRun(queryClient, run),
  });
}

/** Sets tags (add or change); the server answers the run's whole tag set. */
export function useSetRunTags() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ runId, tags }: { runId: string; tags: Record<string, string> }) =>
      setRunTags(runId, tags),
    onMutate: async ({ runId, tags }): Promise<Rollback> => {
      await cancelRunReads(queryClient, [runId]);
      return patchRuns(queryClient, [runId], (r) => ({ ...r, tags: { ...r.tags, ...tags } }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Saving the tag");
    },
    onSuccess: (tags, { runId }) => {
      patchRuns(queryClient, [runId], (r) => ({ ...r, tags }));
    },
  });
}

export function useDeleteRunTag() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ runId, key }: { runId: string; key: string }) => deleteRunTag(runId, key),
    onMutate: async ({ runId, key }): Promise<Rollback> => {
      await cancelRunReads(queryClient, [runId]);
      return patchRuns(queryClient, [runId], (r) => ({
        ...r,
        tags: Object.fromEntries(Object.entries(r.tags).filter(([k]) => k !== key)),
      }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Removing the tag");
    },
  });
}

type Stage = Run["lifecycle_stage"];

async function changeStage(
  queryClient: QueryClient,
  runIds: readonly string[],
  stage: Stage,
  rollback: Rollback,
): Promise<string[]> {
  const outcome = await forEachLimited(runIds, stage === "deleted" ? deleteRun : restoreRun);
  if (outcome.failed.length > 0) {
    // Put every copy back, then keep what the server did accept.
    rollback();
    for (const run of outcome.done) storeRun(queryClient, run);
    const first = outcome.failed[0]?.error;
    const what = `${stage === "deleted" ? "Deleting" : "Restoring"} ${outcome.failed.length} of ${runIds.length} runs`;
    showError(first, what);
  } else {
    for (const run of outcome.done) storeRun(queryClient, run);
  }
  // A list read that started during the requests may have answered with the old stage
  // and overwritten the edit: read the lists again now that the change is committed.
  void queryClient.invalidateQueries({ queryKey: ["runs"] });
  return outcome.done.map((r) => r.id);
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * Soft-deletes runs (one or a selection) and offers Undo; `describe` names them in the
 * toast ("run baseline" or "3 runs").
 */
export function useDeleteRuns() {
  const queryClient = useQueryClient();
  const restore = useRestoreRuns();
  return useMutation({
    mutationFn: async ({ runIds }: { runIds: string[]; label?: string }) => {
      await cancelRunReads(queryClient, runIds);
      const rollback = patchRuns(queryClient, runIds, (r) => ({
        ...r,
        lifecycle_stage: "deleted",
      }));
      return changeStage(queryClient, runIds, "deleted", rollback);
    },
    onSuccess: (deleted, { label }) => {
      if (deleted.length === 0) return;
      const name = label && deleted.length === 1 ? `run ${label}` : plural(deleted.length, "run");
      showToast(`Deleted ${name}`, {
        action: { label: "Undo", run: () => restore.mutate({ runIds: deleted }) },
      });
    },
  });
}

export function useRestoreRuns() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ runIds }: { runIds: string[] }) => {
      await cancelRunReads(queryClient, runIds);
      const rollback = patchRuns(queryClient, runIds, (r) => ({
        ...r,
        lifecycle_stage: "active",
      }));
      return changeStage(queryClient, runIds, "active", rollback);
    },
    onSuccess: (restored) => {
      if (restored.length > 0) showToast(`Restored ${plural(restored.length, "run")}`);
    },
  });
}
