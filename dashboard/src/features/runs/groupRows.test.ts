import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import type { Run } from "../../api/types";
import { buildRunTree } from "./runTree";
import { indexGroups, withGroupHeaders, type TableItem } from "./groupRows";

const BY = { kind: "params", key: "optimizer" } as const;

function run(id: string, optimizer: string | null, parent?: string): Run {
  return makeRun(id, {
    params: optimizer === null ? {} : { optimizer },
    tags: parent ? { "mlflow.parentRunId": parent } : {},
  });
}

const ANSWER = {
  by: "params.optimizer",
  groups: [
    { value: "adam", count: 812 },
    { value: "sgd", count: 40 },
    { value: null, count: 3 },
  ],
  truncated: false,
};

/** Items as text: "#name(count)" for a header, the run id for a row. */
function shape(items: TableItem<Run>[]): string[] {
  return items.map((i) => (i.kind === "group" ? `#${i.name}(${i.count ?? "?"})` : i.row.id));
}

function items(runs: Run[], collapsed: Set<string> = new Set()): TableItem<Run>[] {
  const tree = buildRunTree(runs, new Set());
  return withGroupHeaders(tree, tree.map((t) => t.run), BY, indexGroups(ANSWER), collapsed);
}

describe("group header rows", () => {
  // Pages as the server sends them: sorted by the group's column, runs without it last.
  const page1 = [run("a1", "adam"), run("a2", "adam"), run("s1", "sgd")];
  const page2 = [run("s2", "sgd"), run("s3", "sgd"), run("n1", null)];

  it("puts a header with the server's count before each group's first row", () => {
    expect(shape(items(page1))).toEqual(["#adam(812)", "a1", "a2", "#sgd(40)", "s1"]);
  });

  it("gives a group spanning a page boundary one header", () => {
    expect(shape(items([...page1, ...page2]))).toEqual([
      "#adam(812)",
      "a1",
      "a2",
      "#sgd(40)",
      "s1",
      "s2",
      "s3",
      "#(none)(3)",
      "n1",
    ]);
  });

  it("hides a collapsed group's rows and keeps its header", () => {
    const out = items([...page1, ...page2], new Set(["sgd"]));
    expect(shape(out)).toEqual(["#adam(812)", "a1", "a2", "#sgd(40)", "#(none)(3)", "n1"]);
    const header = out.find((i) => i.kind === "group" && i.name === "sgd");
    expect(header).toMatchObject({ collapsed: true });
  });

  it("gives a group met again (rows not yet re-sorted) a second header with its own id", () => {
    const out = items([run("a1", "adam"), run("s1", "sgd"), run("a2", "adam")]);
    expect(shape(out)).toEqual(["#adam(812)", "a1", "#sgd(40)", "s1", "#adam(812)", "a2"]);
    const ids = out.flatMap((i) => (i.kind === "group" ? [i.id] : []));
    expect(new Set(ids).size).toBe(3);
  });

  it("keeps nested runs under their parent's group", () => {
    const runs = [run("p", "adam"), run("c", "sgd", "p"), run("s1", "sgd")];
    const tree = buildRunTree(runs, new Set(["p"]));
    const out = withGroupHeaders(tree, tree.map((t) => t.run), BY, indexGroups(ANSWER), new Set());
    expect(shape(out)).toEqual(["#adam(812)", "p", "c", "#sgd(40)", "s1"]);
  });

  it("colours groups in compare's order and gives unlisted groups the next colours", () => {
    const numeric = indexGroups({
      by: "params.lr",
      groups: [
        { value: "10", count: 1 },
        { value: "9", count: 5 },
        { value: null, count: 2 },
        { value: "x", count: 3 },
      ],
      truncated: false,
    });
    expect(Object.fromEntries(numeric.colours)).toEqual({ "9": 0, "10": 1, x: 2, "(none)": 3 });
    const out = items([run("z1", "zeta"), run("a1", "adam")]);
    expect(out.filter((i) => i.kind === "group").map((i) => [i.name, i.count, i.colour])).toEqual([
      ["zeta", null, 3],
      ["adam", 812, 0],
    ]);
  });
});
