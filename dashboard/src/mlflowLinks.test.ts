import { describe, expect, it } from "vitest";
import { translateMlflowHash } from "./mlflowLinks";

const RUN = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";

describe("translateMlflowHash", () => {
  it("leaves a URL without an MLflow hash route alone", () => {
    expect(translateMlflowHash("")).toBeNull();
    expect(translateMlflowHash("#section")).toBeNull();
  });

  it("sends the run link MLflow's client prints to the run page", () => {
    expect(translateMlflowHash(`#/experiments/3/runs/${RUN}`)).toBe(`/runs/${RUN}`);
    expect(translateMlflowHash(`#/experiments/3/runs/${RUN}/artifacts/model/MLmodel`)).toBe(
      `/runs/${RUN}`,
    );
    expect(translateMlflowHash(`#/runs/${RUN}`)).toBe(`/runs/${RUN}`);
  });

  it("sends experiment links, with any MLflow tab, to the experiment's runs", () => {
    expect(translateMlflowHash("#/experiments/3")).toBe("/experiments/3");
    expect(translateMlflowHash("#/experiments/0/overview")).toBe("/experiments/0");
    expect(translateMlflowHash("#/experiments/12/runs?searchFilter=x")).toBe("/experiments/12");
    expect(translateMlflowHash("#/experiments/not-a-number")).toBe("/");
    expect(translateMlflowHash("#/")).toBe("/");
  });

  it("compares the runs of a compare-runs link, given as JSON arrays", () => {
    const hash = `#/compare-runs?runs=${encodeURIComponent(JSON.stringify([RUN, OTHER]))}&experiments=${encodeURIComponent('["3"]')}`;
    expect(translateMlflowHash(hash)).toBe(`/compare?runs=${RUN}%2C${OTHER}`);
    expect(translateMlflowHash(`#/compare-runs?runs=["${RUN}"]`)).toBe(`/runs/${RUN}`);
    expect(translateMlflowHash("#/compare-runs?runs=not-json,")).toBe("/runs/not-json");
    expect(translateMlflowHash('#/compare-runs?runs=["../x"]')).toBe("/");
  });

  it("takes a metric link to the comparison of its runs with the metric chosen", () => {
    const runs = encodeURIComponent(JSON.stringify([RUN, OTHER]));
    expect(translateMlflowHash(`#/metric?runs=${runs}&metric=${encodeURIComponent('"loss"')}`)).toBe(
      `/compare?runs=${RUN}%2C${OTHER}&metric=loss`,
    );
    expect(translateMlflowHash(`#/metric/val%20loss?runs=["${RUN}"]`)).toBe(
      `/compare?runs=${RUN}&metric=val+loss`,
    );
    expect(translateMlflowHash("#/metric?metric=loss")).toBe("/");
  });

  it("sends model links to the notice that models live under runs", () => {
    expect(translateMlflowHash("#/models")).toBe("/models");
    expect(translateMlflowHash("#/models/mnist/versions/2")).toBe("/models");
    expect(translateMlflowHash("#/experiments/3/models/m-123")).toBe("/models");
  });

  it("sends MLflow pages Trackboard has no counterpart for to the experiments", () => {
    expect(translateMlflowHash("#/compare-experiments/s?experiments=[1,2]")).toBe("/");
    expect(translateMlflowHash("#/prompts")).toBe("/");
  });
});
