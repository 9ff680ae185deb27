import { describe, expect, it } from "vitest";
import type { WireViewState } from "../../api/views";
import {
  isBareViewLink,
  parseViewId,
  sameState,
  searchFromViewState,
  viewHref,
  viewLink,
  viewStateFromSearch,
} from "./viewState";

const FULL: WireViewState = {
  version: 1,
  filter: "params.lr > 0.01",
  sort: { column: "metrics.val loss", desc: true },
  columns: ["params.lr", "metrics.val loss", "tags.a,b"],
  hidden: ["duration", "attributes.user"],
  pinned: ["attributes.run_name", "params.lr"],
  group: "params.optimizer",
  chart: { x: "metric:epoch", smoothing: 0.6, log: true, band: "std" },
  panels: [["val loss"], ["train/loss", "a,b;c%"]],
};

describe("saved view state", () => {
  it("goes from a state to the URL and back unchanged", () => {
    expect(viewStateFromSearch(searchFromViewState(FULL))).toEqual(FULL);
  });

  it("writes the runs page's own parameters, defaults left out", () => {
    const search = searchFromViewState(FULL);
    expect(search.get("filter")).toBe("params.lr > 0.01");
    expect(search.get("order")).toBe("-metrics.val loss");
    expect(search.getAll("col")).toEqual(["params.lr", "metrics.val loss", "tags.a,b"]);
    expect(search.getAll("hide")).toEqual(["duration", "attributes.user"]);
    expect(search.getAll("pin")).toEqual(["attributes.run_name", "params.lr"]);
    expect(search.get("group")).toBe("params.optimizer");
    expect(search.get("band")).toBe("std");
    expect(search.get("x")).toBe("metric:epoch");
    expect(search.get("smooth")).toBe("0.6");
    expect(search.get("log")).toBe("1");
    expect(search.get("panels")).toBe("val loss;train/loss,a%2Cb%3Bc%25");
    const empty = searchFromViewState({ version: 1, filter: "" });
    expect(empty.toString()).toBe("");
  });

  it("keeps no chosen panels apart from no panels at all", () => {
    expect(viewStateFromSearch(new URLSearchParams("")).panels).toBeNull();
    const none = viewStateFromSearch(new URLSearchParams("panels="));
    expect(none.panels).toEqual([]);
    expect(searchFromViewState(none).toString()).toBe("panels=");
  });

  it("keeps an empty column choice apart from no choice", () => {
    const none = viewStateFromSearch(new URLSearchParams(""));
    expect(none.columns).toBeNull();
    const chosenNone = viewStateFromSearch(new URLSearchParams("col="));
    expect(chosenNone.columns).toEqual([]);
    expect(searchFromViewState(chosenNone).toString()).toBe("col=");
  });

  it("leaves out the selection, the expanded parents, deleted runs, zoom and the view id", () => {
    const search = new URLSearchParams("filter=x&sel=a,b&open=c&stage=deleted&zoom=1..5&view=3");
    expect(searchFromViewState(viewStateFromSearch(search)).toString()).toBe("filter=x");
  });

  it("tells the saved state from a modified one", () => {
    const search = searchFromViewState(FULL);
    search.set("view", "4");
    search.set("sel", "r1");
    expect(sameState(search, FULL)).toBe(true);
    search.set("filter", "params.lr > 1");
    expect(sameState(search, FULL)).toBe(false);
  });

  it("reads a view id spelled one way only", () => {
    expect(parseViewId(new URLSearchParams("view=12"))).toBe(12);
    for (const bad of ["+12", "012", "12.0", " 12", "x", ""]) {
      expect(parseViewId(new URLSearchParams({ view: bad }))).toBeNull();
    }
  });

  it("knows a shared link from a page already showing a view", () => {
    expect(isBareViewLink(new URLSearchParams("view=3"))).toBe(true);
    expect(isBareViewLink(new URLSearchParams("view=3&filter=x"))).toBe(false);
    expect(isBareViewLink(new URLSearchParams("filter=x"))).toBe(false);
  });

  it("builds the page address and the shareable link", () => {
    expect(viewHref("/experiments/2", 7, { version: 1, filter: "a = 1" })).toBe(
      "/experiments/2?filter=a+%3D+1&view=7",
    );
    expect(viewLink("http://h:1", 2, 7)).toBe("http://h:1/experiments/2?view=7");
  });
});
