import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ApiError,
  csrfToken,
  decodeNumber,
  getMetricHistory,
  metricKeyPath,
  searchRuns,
} from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
});

function respond(status: number, body: unknown) {
  return vi.fn(() =>
    Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } })),
  );
}

describe("api client", () => {
  it("decodes the non-finite words", () => {
    expect(decodeNumber("NaN")).toBeNaN();
    expect(decodeNumber("Infinity")).toBe(Number.POSITIVE_INFINITY);
    expect(decodeNumber("-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeNumber(1.5)).toBe(1.5);
  });

  it("keeps slashes of metric keys as path separators", () => {
    expect(metricKeyPath("train/loss x")).toBe("train/loss%20x");
  });

  it("raises the server's 400 message as an ApiError", async () => {
    vi.stubGlobal(
      "fetch",
      respond(400, { error: { code: "INVALID_PARAMETER_VALUE", message: "bad filter at 3" } }),
    );
    const err = await searchRuns({ experiment_ids: [1], filter: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe("bad filter at 3");
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("follows history pages and decodes values", async () => {
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(
        new Response(
          JSON.stringify({ key: "l", steps: [1], values: ["NaN"], timestamps: [5], next_page_token: "t" }),
        ),
      )
      .mockResolvedValueOnce(
        new Response(JSON.stringify({ key: "l", steps: [2], values: [3], timestamps: [6], next_page_token: null })),
      );
    vi.stubGlobal("fetch", fetch);
    const h = await getMetricHistory("r", "l", { max_points: 10 });
    expect(h.steps).toEqual([1, 2]);
    expect(h.values[0]).toBeNaN();
    expect(h.values[1]).toBe(3);
    const secondUrl = String(fetch.mock.calls[1]?.[0]);
    expect(secondUrl).toContain("page_token=t");
    expect(secondUrl).toContain("format=columns");
    expect(secondUrl).toContain("max_points=10");
  });

  it("reads the session's CSRF token from the cookies", () => {
    expect(csrfToken("a=1; tb_csrf=abc%3D; tb_session=s")).toBe("abc=");
    expect(csrfToken("tb_session=s")).toBeNull();
  });

  it("echoes the CSRF token on writes and not on reads", async () => {
    vi.stubGlobal("document", { cookie: "tb_session=s; tb_csrf=tok" });
    const fetch = respond(200, { runs: [], next_page_token: null });
    vi.stubGlobal("fetch", fetch);
    await searchRuns({ experiment_ids: [1] });
    const init = (fetch.mock.calls[0] as unknown[] | undefined)?.[1] as RequestInit;
    expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("tok");
    const get = respond(200, { id: 1 });
    vi.stubGlobal("fetch", get);
    const { getExperiment } = await import("./client");
    await getExperiment(1);
    const getInit = (get.mock.calls[0] as unknown[] | undefined)?.[1] as RequestInit;
    expect((getInit.headers as Record<string, string>)["X-CSRF-Token"]).toBeUndefined();
  });
});
