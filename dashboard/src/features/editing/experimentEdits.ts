// Experiment edits: rename, delete (with Undo) and restore, optimistic like run edits.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { Experiment } from "../../api/types";
import { deleteExperiment, renameExperiment, restoreExperiment } from "../../api/writes";
import { showError, showToast } from "../../components/toastStore";
import { cancelExperimentReads, patchExperiment, type Rollback } from "./cacheEdits";

function useStore() {
  const queryClient = useQueryClient();
  return (experiment: Experiment) => {
    patchExperiment(queryClient, experiment.id, (old) => ({ ...old, ...experiment }));
    // Other views list experiments too (the notification form's choices).
    void queryClient.invalidateQueries({ queryKey: ["notification-experiments"] });
  };
}

export function useRenameExperiment() {
  const queryClient = useQueryClient();
  const store = useStore();
  return useMutation({
    mutationFn: ({ id, name }: { id: number; name: string }) => renameExperiment(id, name),
    onMutate: async ({ id, name }): Promise<Rollback> => {
      await cancelExperimentReads(queryClient, id);
      return patchExperiment(queryClient, id, (e) => ({ ...e, name }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Rename");
    },
    onSuccess: store,
  });
}

export function useRestoreExperiment() {
  const queryClient = useQueryClient();
  const store = useStore();
  return useMutation({
    mutationFn: ({ id }: { id: number }) => restoreExperiment(id),
    onMutate: async ({ id }): Promise<Rollback> => {
      await cancelExperimentReads(queryClient, id);
      return patchExperiment(queryClient, id, (e) => ({ ...e, lifecycle_stage: "active" }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Restore");
    },
    onSuccess: (experiment) => {
      store(experiment);
      showToast(`Restored experiment ${experiment.name}`);
    },
  });
}

export function useDeleteExperiment() {
  const queryClient = useQueryClient();
  const store = useStore();
  const restore = useRestoreExperiment();
  return useMutation({
    mutationFn: ({ id }: { id: number }) => deleteExperiment(id),
    onMutate: async ({ id }): Promise<Rollback> => {
      await cancelExperimentReads(queryClient, id);
      return patchExperiment(queryClient, id, (e) => ({ ...e, lifecycle_stage: "deleted" }));
    },
    onError: (error, _vars, rollback) => {
      rollback?.();
      showError(error, "Delete");
    },
    onSuccess: (experiment) => {
      store(experiment);
      showToast(`Deleted experiment ${experiment.name}`, {
        action: { label: "Undo", run: () => restore.mutate({ id: experiment.id }) },
      });
    },
  });
}
