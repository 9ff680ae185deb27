import { describe, expect, it } from "vitest";
import type { Run } from "../../api/types";
import { formatDuration, formatTime } from "../../components/format";
import { buildColumns } from "./columns";

const run: Run = {
  id: "r1",
  name: "first",
  experiment_id: 1,
  status: "FINISHED",
  start_time: 1_700_000_000_000,
  end_time: 1_700_000_090_000,
  user: "",
  lifecycle_stage: "active",
  params: { lr: "0.1" },
  tags: { team: "vision", "mlflow.user": "ada" },
  metrics: { acc: { value: 0.912345678, step: 3, timestamp: 0, min: 0.5, max: 0.95, count: 3 } },
};

/** What each column's body cell shows for `run`, by column id (text cells only). */
function textCells(columns: ReturnType<typeof buildColumns>): Record<string, unknown> {
  const cells: Record<string, unknown> = {};
  for (const column of columns) {
    const runCell: ((r: Run) => unknown) | undefined = column.meta?.runCell;
    cells[column.id ?? ""] = runCell?.(run);
  }
  return cells;
}

describe("runs table body cells", () => {
  it("show a run's attributes, metrics, params and tags without TanStack rows", () => {
    const cells = textCells(
      buildColumns([
        { kind: "metrics", key: "acc" },
        { kind: "metrics", key: "loss" },
        { kind: "params", key: "lr" },
        { kind: "params", key: "missing" },
        { kind: "tags", key: "team" },
      ]),
    );
    expect(cells).toMatchObject({
      "attributes.start_time": formatTime(run.start_time),
      duration: formatDuration(run.start_time, run.end_time),
      "attributes.user": "ada",
      "metrics.acc": "0.91235",
      "metrics.loss": "—",
      "params.lr": "0.1",
      "params.missing": "",
      "tags.team": "vision",
    });
  });

  it("leave hidden columns out and put pinned ones first, after the selection box", () => {
    const columns = buildColumns([{ kind: "params", key: "lr" }], {
      hidden: ["duration"],
      pinned: ["params.lr"],
    });
    expect(columns.map((c) => c.id)).toEqual([
      "select",
      "params.lr",
      "attributes.run_name",
      "attributes.status",
      "attributes.start_time",
      "attributes.user",
    ]);
  });
});
