import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import type { Run } from "../../api/types";
import { buildRunTree } from "./runTree";

function run(id: string, parent?: string): Run {
  return makeRun(id, { tags: parent ? { "mlflow.parentRunId": parent } : {} });
}

const shape = (rows: ReturnType<typeof buildRunTree>) =>
  rows.map((r) => `${"-".repeat(r.depth)}${r.run.id}${r.childCount ? `(${r.childCount})` : ""}`);

describe("nested runs tree", () => {
  it("keeps a flat list as it is", () => {
    expect(shape(buildRunTree([run("a"), run("b")], new Set()))).toEqual(["a", "b"]);
  });

  it("hides children under a collapsed parent and counts them", () => {
    const runs = [run("c1", "p"), run("p"), run("c2", "p"), run("x")];
    expect(shape(buildRunTree(runs, new Set()))).toEqual(["p(2)", "x"]);
  });

  it("puts children under an expanded parent in the server's order, nested deeper", () => {
    const runs = [run("c1", "p"), run("p"), run("g", "c2"), run("c2", "p"), run("x")];
    expect(shape(buildRunTree(runs, new Set(["p", "c2"])))).toEqual([
      "p(2)",
      "-c1",
      "-c2(1)",
      "--g",
      "x",
    ]);
    expect(shape(buildRunTree(runs, new Set(["p"])))).toEqual(["p(2)", "-c1", "-c2(1)", "x"]);
  });

  it("shows a child whose parent is not loaded as a root", () => {
    expect(shape(buildRunTree([run("c", "elsewhere"), run("x")], new Set()))).toEqual(["c", "x"]);
  });

  it("does not lose runs whose parents form a cycle", () => {
    const rows = buildRunTree([run("a", "b"), run("b", "a")], new Set(["a"]));
    expect(shape(rows)).toEqual(["a(1)", "-b(1)"]);
  });

  it("ignores a run naming itself as parent", () => {
    expect(shape(buildRunTree([run("a", "a")], new Set()))).toEqual(["a"]);
  });
});
