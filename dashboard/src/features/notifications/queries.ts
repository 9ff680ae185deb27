// Query keys and the shared queries of the notifications page.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { listExperiments } from "../../api/client";
import { listRules } from "../../api/notifications";

export const notificationKeys = {
  rules: ["notification-rules"] as const,
  deliveries: (ruleId: number) => ["notification-deliveries", ruleId] as const,
  // Not the experiments page's key: that one holds infinite-query pages.
  experiments: ["notification-experiments"] as const,
};

/** The server's page size limit: a rule form offers at most this many experiments. */
const EXPERIMENTS_LIMIT = 1000;

export function useRules() {
  return useQuery({
    queryKey: notificationKeys.rules,
    queryFn: ({ signal }) => listRules(signal),
  });
}

export function useExperimentChoices() {
  const query = useQuery({
    queryKey: notificationKeys.experiments,
    queryFn: ({ signal }) => listExperiments({ limit: EXPERIMENTS_LIMIT }, signal),
    staleTime: 60_000,
  });
  const experiments = useMemo(() => query.data?.experiments ?? [], [query.data]);
  const names = useMemo(() => new Map(experiments.map((e) => [e.id, e.name])), [experiments]);
  return { experiments, names, error: query.error };
}
