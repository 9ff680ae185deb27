import { QueryClient, type InfiniteData } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { makeRun as run } from "../../api/runFixture";
import type { Experiment, ExperimentPage, Run, RunPage } from "../../api/types";
import { queryKeys } from "../../live/cacheUpdates";
import { patchExperiment, patchRuns } from "./cacheEdits";

const pages = (runs: Run[]): InfiniteData<RunPage> => ({
  pages: [{ runs, next_page_token: null }],
  pageParams: [null],
});

describe("optimistic cache edits", () => {
  it("changes a run in its own query and in every runs list, and rolls back", () => {
    const client = new QueryClient();
    const listKey = queryKeys.runs(1, "", undefined);
    const filteredKey = queryKeys.runs(1, "params.lr = '1'", undefined);
    client.setQueryData(queryKeys.run("a"), run("a"));
    client.setQueryData(listKey, pages([run("a"), run("b")]));
    client.setQueryData(filteredKey, pages([run("a")]));

    const rollback = patchRuns(client, ["a"], (r) => ({ ...r, name: "renamed" }));
    expect(client.getQueryData<Run>(queryKeys.run("a"))?.name).toBe("renamed");
    const list = client.getQueryData<InfiniteData<RunPage>>(listKey);
    expect(list?.pages[0]?.runs.map((r) => r.name)).toEqual(["renamed", "b"]);
    expect(client.getQueryData<InfiniteData<RunPage>>(filteredKey)?.pages[0]?.runs[0]?.name).toBe(
      "renamed",
    );

    rollback();
    expect(client.getQueryData<Run>(queryKeys.run("a"))?.name).toBe("a");
    expect(
      client.getQueryData<InfiniteData<RunPage>>(listKey)?.pages[0]?.runs.map((r) => r.name),
    ).toEqual(["a", "b"]);
  });

  it("changes an experiment in its query and the experiment lists, and rolls back", () => {
    const client = new QueryClient();
    const experiment: Experiment = {
      id: 3,
      name: "old",
      lifecycle_stage: "active",
      tags: {},
      creation_time: 0,
      last_update_time: 0,
    };
    const listKey = ["experiments", "", "active"];
    client.setQueryData(["experiment", 3], experiment);
    client.setQueryData<InfiniteData<ExperimentPage>>(listKey, {
      pages: [{ experiments: [experiment], next_page_token: null }],
      pageParams: [null],
    });
    const rollback = patchExperiment(client, 3, (e) => ({ ...e, lifecycle_stage: "deleted" }));
    expect(client.getQueryData<Experiment>(["experiment", 3])?.lifecycle_stage).toBe("deleted");
    expect(
      client.getQueryData<InfiniteData<ExperimentPage>>(listKey)?.pages[0]?.experiments[0]
        ?.lifecycle_stage,
    ).toBe("deleted");
    rollback();
    expect(client.getQueryData<Experiment>(["experiment", 3])?.lifecycle_stage).toBe("active");
  });
});
