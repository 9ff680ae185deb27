// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { followMlflowLink, matchRoute } from "./router";

describe("followMlflowLink", () => {
  it("replaces an MLflow hash link by the page it names", () => {
    window.history.replaceState(null, "", "/#/experiments/3/runs/abc123");
    followMlflowLink();
    expect(window.location.pathname).toBe("/runs/abc123");
    expect(window.location.hash).toBe("");
    expect(matchRoute(window.location.pathname)).toEqual({ name: "run", runId: "abc123" });
  });

  it("leaves our own URLs as they are", () => {
    window.history.replaceState(null, "", "/compare?runs=a,b");
    followMlflowLink();
    expect(window.location.pathname + window.location.search).toBe("/compare?runs=a,b");
  });

  it("follows a link pasted into the open app, which changes only the hash", () => {
    window.history.replaceState(null, "", "/");
    window.location.hash = "#/models/mnist";
    window.dispatchEvent(new HashChangeEvent("hashchange"));
    expect(window.location.pathname).toBe("/models");
    expect(matchRoute(window.location.pathname)).toEqual({ name: "models" });
  });
});
