import { describe, expect, it } from "vitest";
import {
  parseChartView,
  parseCompareView,
  parseRunsView,
  queryString,
  serializeChartView,
  serializeCompareView,
  serializeRunsView,
  type RunsView,
} from "./urlState";

const q = (s: string) => new URLSearchParams(s);

describe("runs view in the URL", () => {
  it("has defaults when the URL says nothing", () => {
    expect(parseRunsView(q(""))).toEqual({
      filter: "",
      sort: null,
      columns: null,
      selected: [],
      expanded: [],
      deleted: false,
    });
  });

  it("round-trips filter, sort, columns and selection", () => {
    const view: RunsView = {
      filter: "metrics.acc > 0.9 and params.lr = '0.01'",
      sort: { column: { kind: "metrics", key: "val loss" }, desc: true },
      columns: [
        { kind: "metrics", key: "val.loss" },
        { kind: "params", key: "lr" },
        { kind: "tags", key: "a,b" },
      ],
      selected: ["abc", "def"],
      expanded: ["p1", "p2"],
      deleted: true,
    };
    const url = queryString(serializeRunsView(view));
    expect(parseRunsView(new URLSearchParams(url.slice(1)))).toEqual(view);
  });

  it("writes nothing for the default view", () => {
    expect(queryString(serializeRunsView(parseRunsView(q(""))))).toBe("");
  });

  it("keeps an explicitly empty column choice apart from 'not chosen'", () => {
    const view = parseRunsView(q(""));
    const none = serializeRunsView({ ...view, columns: [] });
    expect(parseRunsView(none).columns).toEqual([]);
  });

  it("ignores a malformed sort and unknown column kinds", () => {
    const view = parseRunsView(q("order=-bogus&col=weird.x&col=params.lr"));
    expect(view.sort).toBeNull();
    expect(view.columns).toEqual([{ kind: "params", key: "lr" }]);
  });

  it("drops duplicate and empty selected ids", () => {
    expect(parseRunsView(q("sel=a,,b,a")).selected).toEqual(["a", "b"]);
  });

  it("keeps expanded parent runs and the deleted-runs switch", () => {
    const view = parseRunsView(q("open=p1,p1,p2&stage=deleted"));
    expect(view.expanded).toEqual(["p1", "p2"]);
    expect(view.deleted).toBe(true);
    expect(parseRunsView(q("stage=bogus")).deleted).toBe(false);
    expect(serializeRunsView(view).toString()).toBe("open=p1%2Cp2&stage=deleted");
  });
});

describe("chart view in the URL", () => {
  it("parses x axis, smoothing, log scale and zoom", () => {
    expect(parseChartView(q("x=time&smooth=0.6&log=1&zoom=10..200"))).toEqual({
      x: "time",
      smoothing: 0.6,
      log: true,
      zoom: [10, 200],
    });
  });

  it("clamps smoothing and rejects bad zooms", () => {
    expect(parseChartView(q("smooth=5")).smoothing).toBe(0.99);
    expect(parseChartView(q("smooth=-1")).smoothing).toBe(0);
    expect(parseChartView(q("smooth=abc")).smoothing).toBe(0);
    expect(parseChartView(q("zoom=200..10")).zoom).toBeNull();
    expect(parseChartView(q("zoom=1.5..3")).zoom).toBeNull();
  });

  it("serialises only what differs from the defaults", () => {
    expect(serializeChartView(parseChartView(q(""))).toString()).toBe("");
    expect(serializeChartView({ x: "step", smoothing: 0.3, log: false, zoom: [0, 5] }).toString()).toBe(
      "smooth=0.3&zoom=0..5",
    );
  });
});

describe("compare view in the URL", () => {
  it("round-trips runs, metric, axes and chart options", () => {
    const view = parseCompareView(q("runs=a,b,c&metric=acc&params=lr,bs&x=time&log=1"));
    expect(view.runs).toEqual(["a", "b", "c"]);
    expect(view.metric).toBe("acc");
    expect(view.params).toEqual(["lr", "bs"]);
    expect(parseCompareView(serializeCompareView(view))).toEqual(view);
  });

  it("keeps the diff's only-differences switch", () => {
    const view = parseCompareView(q("runs=a,b&diff=only"));
    expect(view.diffOnly).toBe(true);
    expect(serializeCompareView(view).get("diff")).toBe("only");
    expect(parseCompareView(q("runs=a,b&diff=all")).diffOnly).toBe(false);
    expect(serializeCompareView({ ...view, diffOnly: false }).has("diff")).toBe(false);
  });

  it("round-trips grouping, band, scatter axes and a metric x axis", () => {
    const view = parseCompareView(
      q("runs=a,b&group=params.lr&band=std&sx=params.lr&sy=metrics.val%20acc&x=metric:epoch"),
    );
    expect(view.group).toEqual({ kind: "params", key: "lr" });
    expect(view.band).toBe("std");
    expect(view.scatterX).toEqual({ kind: "params", key: "lr" });
    expect(view.scatterY).toEqual({ kind: "metrics", key: "val acc" });
    expect(view.x).toBe("metric:epoch");
    expect(parseCompareView(serializeCompareView(view))).toEqual(view);
  });

  it("draws one line per run with a min–max band by default, and ignores a bad group", () => {
    const view = parseCompareView(q("runs=a&group=lr&band=wide"));
    expect(view.group).toBeNull();
    expect(view.band).toBe("minmax");
    const out = serializeCompareView(view);
    expect(out.has("group") || out.has("band") || out.has("sx")).toBe(false);
  });

  it("uses every varying param when no axes are chosen", () => {
    expect(parseCompareView(q("runs=a")).params).toBeNull();
  });
});
