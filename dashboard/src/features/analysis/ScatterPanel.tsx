// Scatter plot of two columns (numeric params, metrics' latest values) across the
// compared runs, each point in its run's colour. Axes live in the URL (sx, sy).
import { useMemo } from "react";
import type { Run } from "../../api/types";
import { seriesColor } from "../../charts/colors";
import { ScatterChart } from "../../charts/ScatterChart";
import { runDisplayName } from "../../mlflowTags";
import { columnId, parseColumnId, type ColumnRef } from "../../state/identifiers";
import { scatterColumns, scatterPoints } from "./scatter";

function ColumnSelect({
  label,
  value,
  choices,
  onChange,
}: {
  label: string;
  value: ColumnRef | null;
  choices: ColumnRef[];
  onChange: (ref: ColumnRef | null) => void;
}) {
  return (
    <label>
      {label}{" "}
      <select
        aria-label={`Scatter ${label}`}
        value={value ? columnId(value) : ""}
        onChange={(e) => onChange(parseColumnId(e.target.value))}
      >
        {choices.map((c) => (
          <option key={columnId(c)} value={columnId(c)}>
            {columnId(c)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ScatterPanel({
  runs,
  colors,
  x,
  y,
  onChange,
}: {
  runs: Run[];
  colors: Map<string, string>;
  x: ColumnRef | null;
  y: ColumnRef | null;
  onChange: (x: ColumnRef | null, y: ColumnRef | null) => void;
}) {
  const choices = useMemo(() => scatterColumns(runs), [runs]);
  // Unchosen axes: the first param against the first metric, when there are both.
  const xRef = x ?? choices[0] ?? null;
  const yRef = y ?? choices.find((c) => c.kind === "metrics") ?? choices[1] ?? null;
  const points = useMemo(
    () =>
      xRef && yRef
        ? scatterPoints(runs, xRef, yRef).map((p) => ({
            label: runDisplayName(p.run),
            color: colors.get(p.run.id) ?? seriesColor(0),
            x: p.x,
            y: p.y,
          }))
        : [],
    [runs, colors, xRef, yRef],
  );

  return (
    <section data-testid="scatter-panel">
      <h2>Scatter</h2>
      <div className="toolbar">
        <ColumnSelect label="x" value={xRef} choices={choices} onChange={(r) => onChange(r, yRef)} />
        <ColumnSelect label="y" value={yRef} choices={choices} onChange={(r) => onChange(xRef, r)} />
        <span className="muted">
          {points.length} of {runs.length} runs have both · hover a point for its run
        </span>
      </div>
      {xRef && yRef && points.length > 0 ? (
        <ScatterChart points={points} xLabel={xRef.key} yLabel={yRef.key} />
      ) : (
        <p className="muted">No run has two numeric values to plot.</p>
      )}
    </section>
  );
}
