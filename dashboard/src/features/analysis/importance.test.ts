import { describe, expect, it } from "vitest";
import { makeRun } from "../../api/runFixture";
import { binLabels, correlationRatio, paramImportance, pearson } from "./importance";

const metric = (value: number) => ({
  acc: { value, step: 0, timestamp: 0, min: value, max: value, count: 1 },
});

describe("pearson", () => {
  it("is 1 and -1 on exact lines and null without variance or pairs", () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(pearson([1, 2], [1, 2])).toBeNull();
  });

  it("matches a value worked by hand", () => {
    // x = 1..5, y = 2,4,5,4,5: sxy = 6, sxx = 10, syy = 6 → r = 6/√60.
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
  });
});

describe("correlationRatio", () => {
  it("is 1 when each group is constant and 0 when the group means are equal", () => {
    expect(correlationRatio(["a", "a", "b", "b"], [1, 1, 5, 5])).toBe(1);
    expect(correlationRatio(["a", "a", "b", "b"], [1, 3, 3, 1])).toBe(0);
  });

  it("matches a value worked by hand", () => {
    // groups a: 1, 3 (mean 2); b: 5, 7 (mean 6); total mean 4.
    // between = 2·4 + 2·4 = 16; total = 9 + 1 + 1 + 9 = 20 → η = √0.8.
    expect(correlationRatio(["a", "a", "b", "b"], [1, 3, 5, 7])).toBeCloseTo(Math.sqrt(0.8), 12);
  });

  it("is null with one group or a constant metric", () => {
    expect(correlationRatio(["a", "a"], [1, 2])).toBeNull();
    expect(correlationRatio(["a", "b"], [2, 2])).toBeNull();
  });
});

describe("binLabels", () => {
  it("keeps few distinct values as they are", () => {
    expect(binLabels([0.1, 0.01, 0.1, 0.01])).toEqual(["0.1", "0.01", "0.1", "0.01"]);
  });

  it("cuts many values into about √n bins of equal counts, ties together", () => {
    // n = 9 → 3 bins of 3 by rank.
    expect(binLabels([9, 1, 5, 2, 8, 3, 7, 4, 6])).toEqual(["2", "0", "1", "0", "2", "0", "2", "1", "1"]);
    // Ties take the bin of their first rank.
    expect(binLabels([1, 1, 1, 1, 2, 3, 4, 5, 6])).toEqual(["0", "0", "0", "0", "1", "1", "2", "2", "2"]);
  });
});

describe("paramImportance", () => {
  it("ranks the param the metric follows first, with a signed correlation", () => {
    const runs = [1, 2, 3, 4, 5, 6].map((i) =>
      makeRun(`r${i}`, {
        params: { lr: String(i), seed: String((i * 7) % 3), opt: i % 2 ? "adam" : "sgd" },
        metrics: metric(10 - i),
      }),
    );
    const result = paramImportance(runs, "acc");
    expect(result.map((r) => r.param)).toEqual(["lr", "opt", "seed"]);
    const lr = result[0];
    expect(lr?.correlation).toBeCloseTo(-1, 12);
    expect(lr?.runs).toBe(6);
    // opt is text: no correlation, but an η. Its groups are odd (9,7,5: mean 7)
    // and even (8,6,4: mean 6) i's; total mean 6.5 → between 1.5, total 17.5.
    const opt = result.find((r) => r.param === "opt");
    expect(opt?.correlation).toBeNull();
    expect(opt?.importance).toBeCloseTo(Math.sqrt(1.5 / 17.5), 12);
    // seed = 1,2,0,1,2,0 has 3 values for 2 bins (√6): {0, 1} and {2}, whose
    // metric means are both 6.5, so it explains nothing.
    expect(result[2]?.importance).toBe(0);
  });

  it("leaves out runs without the metric or the param", () => {
    const runs = [
      makeRun("a", { params: { lr: "1" }, metrics: metric(1) }),
      makeRun("b", { params: { lr: "2" }, metrics: metric(2) }),
      makeRun("c", { params: { lr: "3" } }),
      makeRun("d", { params: {}, metrics: metric(3) }),
    ];
    const [lr] = paramImportance(runs, "acc");
    expect(lr).toEqual({ param: "lr", correlation: null, importance: 1, runs: 2 });
  });
});
