import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import { bandOf, groupRuns, interpolateAt, MISSING_GROUP } from "./grouping";

describe("groupRuns", () => {
  it("groups by a param, numbers in numeric order and runs without it last", () => {
    const runs = [
      makeRun("a", { params: { lr: "0.1" } }),
      makeRun("b", { params: { lr: "0.01" } }),
      makeRun("c", { params: {} }),
      makeRun("d", { params: { lr: "0.1" } }),
      makeRun("e", { params: { lr: "1e-3" } }),
    ];
    expect(groupRuns(runs, { kind: "params", key: "lr" })).toEqual([
      { name: "1e-3", runIds: ["e"] },
      { name: "0.01", runIds: ["b"] },
      { name: "0.1", runIds: ["a", "d"] },
      { name: MISSING_GROUP, runIds: ["c"] },
    ]);
  });

  it("groups by a tag or an attribute", () => {
    const runs = [
      makeRun("a", { tags: { model: "cnn" }, status: "FINISHED" }),
      makeRun("b", { tags: { model: "mlp" }, status: "FAILED" }),
      makeRun("c", { tags: { model: "cnn" }, status: "FINISHED" }),
    ];
    expect(groupRuns(runs, { kind: "tags", key: "model" }).map((g) => g.runIds)).toEqual([
      ["a", "c"],
      ["b"],
    ]);
    expect(groupRuns(runs, { kind: "attributes", key: "status" }).map((g) => g.name)).toEqual([
      "FAILED",
      "FINISHED",
    ]);
  });
});

describe("interpolateAt", () => {
  it("is linear between points and null outside the series", () => {
    const s = { x: [0, 10, 20], y: [0, 10, 30] };
    expect(interpolateAt(s, [-1, 0, 5, 10, 15, 20, 21])).toEqual([null, 0, 5, 10, 20, 30, null]);
  });

  it("does not bridge a gap", () => {
    const s = { x: [0, 10, 20], y: [1, null, 3] };
    expect(interpolateAt(s, [0, 5, 10, 15, 20])).toEqual([1, null, null, null, 3]);
  });
});

describe("bandOf", () => {
  it("takes min and max around the mean at the union of steps", () => {
    // a logs at 0, 10, 20; b at 0 and 20 only: b is interpolated at 10.
    const a = { x: [0, 10, 20], y: [1, 2, 3] };
    const b = { x: [0, 20], y: [3, 7] };
    const band = bandOf([a, b], "minmax");
    expect(band.x).toEqual([0, 10, 20]);
    expect(band.mean).toEqual([2, 3.5, 5]);
    expect(band.lower).toEqual([1, 2, 3]);
    expect(band.upper).toEqual([3, 5, 7]);
    expect(band.count).toEqual([2, 2, 2]);
  });

  it("spans one standard deviation either side", () => {
    const band = bandOf(
      [
        { x: [0], y: [2] },
        { x: [0], y: [4] },
        { x: [0], y: [4] },
        { x: [0], y: [4] },
        { x: [0], y: [5] },
        { x: [0], y: [5] },
        { x: [0], y: [7] },
        { x: [0], y: [9] },
      ],
      "std",
    );
    // The textbook population: mean 5, standard deviation 2.
    expect(band.mean).toEqual([5]);
    expect(band.lower).toEqual([3]);
    expect(band.upper).toEqual([7]);
  });

  it("counts only the runs that reach an x", () => {
    const short = { x: [0, 1], y: [10, 20] };
    const long = { x: [0, 1, 2, 3], y: [0, 0, 0, 4] };
    const band = bandOf([short, long], "minmax");
    expect(band.x).toEqual([0, 1, 2, 3]);
    expect(band.mean).toEqual([5, 10, 0, 4]);
    expect(band.count).toEqual([2, 2, 1, 1]);
    expect(band.lower).toEqual([0, 0, 0, 4]);
  });

  it("leaves an x where no run has a value empty", () => {
    const band = bandOf([{ x: [0, 1], y: [null, 2] }], "std");
    expect(band.mean).toEqual([null, 2]);
    expect(band.lower).toEqual([null, 2]);
  });
});
