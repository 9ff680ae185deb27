import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./client";
import { deleteRule, testRule } from "./notifications";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("notification rules client", () => {
  it("deletes with the CSRF header and accepts the empty 204", async () => {
    vi.stubGlobal("document", { cookie: "other=1; tb_csrf=tok%3D" });
    const fetch = vi.fn(() => Promise.resolve(new Response(null, { status: 204 })));
    vi.stubGlobal("fetch", fetch);
    await expect(deleteRule(7)).resolves.toBeUndefined();
    expect(fetch).toHaveBeenCalledWith("/api/v1/notification-rules/7", {
      method: "DELETE",
      headers: { Accept: "application/json", "X-CSRF-Token": "tok=" },
    });
  });

  it("raises the server's refusal as an ApiError", async () => {
    const body = { error: { code: "INVALID_PARAMETER_VALUE", message: "no such rule" } };
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify(body), { status: 404 })));
    const error = await deleteRule(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe("no such rule");
  });

  it("returns one test result per channel", async () => {
    const results = [{ channel_index: 0, type: "webhook", ok: false, error: "HTTP 500" }];
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ results }))));
    await expect(testRule(3)).resolves.toEqual(results);
  });
});
