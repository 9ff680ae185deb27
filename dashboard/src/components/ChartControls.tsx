// x axis, smoothing, log scale and zoom reset: shared by the run and compare pages.
import { metricAxis, parseXAxis } from "../charts/xAxis";
import type { ChartView } from "../state/urlState";

export function ChartControls({
  view,
  onChange,
  xMetrics = [],
}: {
  view: ChartView;
  onChange: (next: ChartView) => void;
  /** Logged metrics offered as the x axis (joined on the step). */
  xMetrics?: readonly string[];
}) {
  return (
    <div className="toolbar" data-testid="chart-controls">
      <label>
        x axis{" "}
        <select
          value={view.x}
          aria-label="x axis"
          onChange={(e) => onChange({ ...view, x: parseXAxis(e.target.value) })}
        >
          <option value="step">step</option>
          <option value="time">wall time</option>
          <option value="relative">relative time (since run start)</option>
          {xMetrics.map((k) => (
            <option key={k} value={metricAxis(k)}>
              metric: {k}
            </option>
          ))}
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
