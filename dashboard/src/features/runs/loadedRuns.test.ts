import { describe, expect, it } from "vitest";
import type { Run, RunPage } from "../../api/types";
import { firstRuns, loadedRuns, runAt } from "./loadedRuns";

function run(id: string, extra: Partial<Run> = {}): Run {
  return {
    id,
    name: id,
    experiment_id: 1,
    status: "FINISHED",
    start_time: 0,
    end_time: null,
    user: "",
    lifecycle_stage: "active",
    params: {},
    tags: {},
    metrics: {},
    ...extra,
  };
}

const page = (...runs: Run[]): RunPage => ({ runs, next_page_token: null });

describe("loadedRuns", () => {
  it("reads the runs of every page by index, leaving out other stages", () => {
    const pages = [
      page(run("a"), run("b", { lifecycle_stage: "deleted" }), run("c")),
      page(run("d", { lifecycle_stage: "deleted" })),
      page(run("e")),
    ];
    const list = loadedRuns(pages, "active");
    expect(list.count).toBe(3);
    expect([0, 1, 2, 3].map((i) => runAt(list, i)?.id)).toEqual(["a", "c", "e", undefined]);
    expect(runAt(list, -1)).toBeUndefined();
    expect(firstRuns(list).map((r) => r.id)).toEqual(["a", "c", "e"]);
    expect(firstRuns(list, 2).map((r) => r.id)).toEqual(["a", "c"]);
    expect(loadedRuns(pages, "deleted").count).toBe(2);
  });

  it("keeps a page's runs when the next page arrives, and says when runs are nested", () => {
    const first = page(run("a"), run("b"));
    const before = loadedRuns([first], "active");
    const after = loadedRuns([first, page(run("c", { tags: { "mlflow.parentRunId": "a" } }))], "active");
    expect(after.chunks[0]).toBe(before.chunks[0]);
    expect(before.nested).toBe(false);
    expect(after.nested).toBe(true);
    expect(runAt(after, 2)?.id).toBe("c");
  });
});
