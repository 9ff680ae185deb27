// A run's nested runs (MLflow child runs: `mlflow.parentRunId` = this run) and its parent.
import { useQuery } from "@tanstack/react-query";
import { searchRuns } from "../../api/client";
import type { Run } from "../../api/types";
import { formatValue } from "../../components/format";
import { StatusBadge } from "../../components/StatusBadge";
import { PARENT_RUN_TAG, runDisplayName } from "../../mlflowTags";
import { Link } from "../../router";
import { searchIdentifier } from "../../state/identifiers";

/** Children shown on the run page; a sweep with more opens the filtered table instead. */
const CHILD_LIMIT = 200;

export function childrenFilter(runId: string): string {
  const quoted = `'${runId.replace(/'/g, "''")}'`;
  return `${searchIdentifier({ kind: "tags", key: PARENT_RUN_TAG })} = ${quoted}`;
}

export function NestedRuns({ run }: { run: Run }) {
  const filter = childrenFilter(run.id);
  const children = useQuery({
    queryKey: ["run-children", run.id],
    queryFn: ({ signal }) =>
      searchRuns({ experiment_ids: [run.experiment_id], filter, limit: CHILD_LIMIT }, signal),
    staleTime: 10_000,
  });
  const runs = children.data?.runs ?? [];
  if (children.isPending || (runs.length === 0 && !children.error)) return null;
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort().slice(0, 3);
  const more = children.data?.next_page_token
    ? `/experiments/${run.experiment_id}?filter=${encodeURIComponent(filter)}`
    : null;
  return (
    <section data-testid="nested-runs">
      <h2>
        Nested runs <span className="muted">({runs.length}{more ? "+" : ""})</span>
      </h2>
      {children.error ? <div className="error-banner">{children.error.message}</div> : null}
      <table className="plain">
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            {metricKeys.map((k) => (
              <th key={k} title={`latest ${k}`}>
                {k} (latest)
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((child) => (
            <tr key={child.id} data-run-id={child.id}>
              <td>
                <Link to={`/runs/${encodeURIComponent(child.id)}`}>{runDisplayName(child)}</Link>
              </td>
              <td>
                <StatusBadge status={child.status} />
              </td>
              {metricKeys.map((k) => (
                <td key={k} className="mono">
                  {formatValue(child.metrics[k]?.value)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {more ? <Link to={more}>All nested runs in the runs table</Link> : null}
    </section>
  );
}
