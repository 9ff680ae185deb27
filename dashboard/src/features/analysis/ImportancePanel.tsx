// Parameter importance for one metric: each param's Pearson correlation with the
// metric's latest value and its correlation ratio η on binned values, as a table
// of bars sorted by η.
import { useMemo } from "react";
import type { Run } from "../../api/types";
import { formatValue } from "../../components/format";
import { paramImportance } from "./importance";

const CORRELATION_HELP =
  "Pearson correlation of the param's value with the metric across the runs: " +
  "+1 the metric rises with the param along a line, −1 it falls, 0 no linear relation. " +
  "Numeric params only.";

const IMPORTANCE_HELP =
  "Correlation ratio η: the runs are put in bins of the param's value (about √n bins of " +
  "equal size for a numeric param, its values for a text one), and η² is the share of the " +
  "metric's variance explained by predicting each run by its bin's mean. 0: the param " +
  "explains nothing; 1: it explains everything. It sees non-linear effects that the " +
  "correlation misses, but with few runs per bin it reads high by chance; it says nothing " +
  "of cause.";

function Bar({ value, signed }: { value: number | null; signed: boolean }) {
  if (value === null) return <span className="muted">—</span>;
  const width = `${Math.abs(value) * (signed ? 50 : 100)}%`;
  const left = signed ? (value < 0 ? `${50 - Math.abs(value) * 50}%` : "50%") : "0";
  return (
    <>
      <span className="importance-bar" title={formatValue(value)}>
        <span className={value < 0 ? "fill negative" : "fill"} style={{ width, left }} />
      </span>{" "}
      <span className="mono">{value.toFixed(2)}</span>
    </>
  );
}

export function ImportancePanel({ runs, metric }: { runs: Run[]; metric: string | null }) {
  const rows = useMemo(() => (metric ? paramImportance(runs, metric) : []), [runs, metric]);
  return (
    <section data-testid="importance-panel">
      <h2>Parameter importance{metric ? ` for ${metric}` : ""}</h2>
      {rows.length === 0 ? (
        <p className="muted">No params to score against a metric.</p>
      ) : (
        <table className="plain importance" data-testid="importance-table">
          <thead>
            <tr>
              <th>param</th>
              <th title={IMPORTANCE_HELP}>importance (η) (?)</th>
              <th title={CORRELATION_HELP}>correlation (?)</th>
              <th>runs</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.param} data-param={r.param}>
                <td className="mono">{r.param}</td>
                <td>
                  <Bar value={r.importance} signed={false} />
                </td>
                <td>
                  <Bar value={r.correlation} signed />
                </td>
                <td className="mono">{r.runs}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">
        Scored on the latest value of {metric ?? "the metric"} in each run. {IMPORTANCE_HELP}
      </p>
    </section>
  );
}
