// x axis, smoothing, log scale and zoom reset: shared by the run and compare pages.
import type { ChartView } from "../state/urlState";

export function ChartControls({
  view,
  onChange,
}: {
  view: ChartView;
  onChange: (next: ChartView) => void;
}) {
  return (
    <div className="toolbar" data-testid="chart-controls">
      <label>
        x axis{" "}
        <select
          value={view.x}
          aria-label="x axis"
          onChange={(e) => onChange({ ...view, x: e.target.value === "time" ? "time" : "step", zoom: view.zoom })}
        >
          <option value="step">step</option>
          <option value="time">time</option>
        </select>
      </label>
      <label className="slider">
        smoothing
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={view.smoothing}
          aria-label="smoothing"
          onChange={(e) => onChange({ ...view, smoothing: Number(e.target.value) })}
        />
        <span className="mono">{view.smoothing.toFixed(2)}</span>
      </label>
      <label>
        <input
          type="checkbox"
          checked={view.log}
          aria-label="log scale"
          onChange={(e) => onChange({ ...view, log: e.target.checked })}
        />{" "}
        log scale
      </label>
      {view.zoom ? (
        <button type="button" onClick={() => onChange({ ...view, zoom: null })}>
          Reset zoom (steps {view.zoom[0]}–{view.zoom[1]})
        </button>
      ) : (
        <span className="muted">drag on a chart to zoom</span>
      )}
    </div>
  );
}
