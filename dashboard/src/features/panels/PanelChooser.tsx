// The "Charts" control of the run and compare pages: a checkbox per key for its own
// chart, "Add chart" for several keys on one chart, and the chosen charts in order with
// move up/down and remove. Every change is a new panel list for the URL.
import { useState } from "react";
import "./panels.css";
import {
  addPanel,
  encodePanels,
  isShown,
  movePanel,
  panelTitle,
  removePanel,
  toggleKey,
  type Panel,
} from "../../state/panels";

export function PanelChooser({
  keys,
  panels,
  isDefault,
  onChange,
}: {
  /** Every metric key the page can chart. */
  keys: readonly string[];
  /** The panels shown now (the default layout resolved). */
  panels: readonly Panel[];
  /** Whether the layout is the default one (nothing chosen in the URL). */
  isDefault: boolean;
  /** null goes back to the default layout. */
  onChange: (next: Panel[] | null) => void;
}) {
  const [picked, setPicked] = useState<string[]>([]);
  return (
    <details className="panel-chooser" data-testid="panel-chooser">
      <summary>Charts ({panels.length})</summary>
      <fieldset>
        <legend>Chart of its own</legend>
        {keys.map((k) => (
          <label key={k}>
            <input
              type="checkbox"
              aria-label={`Own chart for ${k}`}
              checked={isShown(panels, k)}
              onChange={() => onChange(toggleKey(panels, k))}
            />{" "}
            <span className="mono">{k}</span>
          </label>
        ))}
      </fieldset>
      <div className="toolbar">
        <label>
          keys for a new chart{" "}
          <select
            multiple
            aria-label="Keys for a new chart"
            value={picked}
            size={Math.min(Math.max(keys.length, 2), 6)}
            onChange={(e) => setPicked([...e.target.selectedOptions].map((o) => o.value))}
          >
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          disabled={picked.length === 0}
          onClick={() => {
            onChange(addPanel(panels, picked));
            setPicked([]);
          }}
        >
          Add chart
        </button>
        <button type="button" disabled={isDefault} onClick={() => onChange(null)}>
          One chart per key
        </button>
      </div>
      <ol className="panel-list" aria-label="Charts in order">
        {panels.map((p, i) => {
          const title = panelTitle(p);
          return (
            <li key={encodePanels([p])}>
              <span className="mono">{title}</span>{" "}
              <button
                type="button"
                aria-label={`Move chart ${title} up`}
                disabled={i === 0}
                onClick={() => onChange(movePanel(panels, i, -1))}
              >
                ↑
              </button>
              <button
                type="button"
                aria-label={`Move chart ${title} down`}
                disabled={i === panels.length - 1}
                onClick={() => onChange(movePanel(panels, i, 1))}
              >
                ↓
              </button>
              <button
                type="button"
                aria-label={`Remove chart ${title}`}
                onClick={() => onChange(removePanel(panels, i))}
              >
                ×
              </button>
            </li>
          );
        })}
      </ol>
    </details>
  );
}
