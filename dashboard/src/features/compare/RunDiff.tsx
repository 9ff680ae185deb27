// The run diff table: params, tags and latest metrics of the compared runs, one column
// per run (headed in its run colour), rows where they disagree highlighted, and a switch
// (kept in the URL) to show only those.
import { useMemo } from "react";
import type { Run } from "../../api/types";
import { formatValue } from "../../components/format";
import { runDisplayName } from "../../mlflowTags";
import { computeRunDiff, visibleDiffRows, type DiffSection } from "./diff";

const SECTION_LABEL: Record<DiffSection, string> = {
  params: "param",
  tags: "tag",
  metrics: "metric (latest)",
};

function show(value: string | number | null): string {
  if (value === null) return "—";
  return typeof value === "number" ? formatValue(value) : value;
}

export function RunDiff({
  runs,
  colors,
  onlyDifferences,
  onToggle,
}: {
  runs: readonly Run[];
  colors: ReadonlyMap<string, string>;
  onlyDifferences: boolean;
  onToggle: (only: boolean) => void;
}) {
  const all = useMemo(() => computeRunDiff(runs), [runs]);
  const rows = visibleDiffRows(all, onlyDifferences);
  const differing = all.filter((r) => r.differs).length;
  return (
    <section data-testid="run-diff">
      <h2>
        Diff{" "}
        <span className="muted">
          ({differing} of {all.length} rows differ)
        </span>
      </h2>
      <label className="check">
        <input
          type="checkbox"
          checked={onlyDifferences}
          onChange={(e) => onToggle(e.target.checked)}
        />
        only differences
      </label>
      <div className="diff-wrap">
        <table className="plain diff">
          <thead>
            <tr>
              <th>kind</th>
              <th>key</th>
              {runs.map((r) => (
                <th key={r.id} title={r.id}>
                  <span className="swatch" style={{ background: colors.get(r.id) }} />
                  {runDisplayName(r)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr
                key={`${row.section}.${row.key}`}
                className={row.differs ? "differs" : undefined}
                data-key={`${row.section}.${row.key}`}
                data-differs={row.differs}
              >
                <td className="section">{SECTION_LABEL[row.section]}</td>
                <td>{row.key}</td>
                {row.values.map((v, i) => (
                  <td key={runs[i]?.id ?? i}>{show(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 ? (
          <p className="muted">{onlyDifferences ? "The runs do not differ." : "Nothing logged."}</p>
        ) : null}
      </div>
    </section>
  );
}
