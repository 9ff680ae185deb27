import { describe, expect, it } from "vitest";
import { draftToRequest, emptyDraft, parseEmails, type RuleDraft } from "./draft";

function draft(overrides: Partial<RuleDraft>): RuleDraft {
  return { ...emptyDraft(), name: "r", webhookUrl: "https://h.example/", ...overrides };
}

describe("new-rule form → request body", () => {
  it("turns every kind of trigger and channel into the API's shapes", () => {
    const result = draftToRequest(
      draft({
        name: "  loss watch ",
        experimentIds: [3, 5],
        statuses: ["run.killed", "run.finished"],
        alert: true,
        alertLevel: "error",
        thresholds: [{ key: " loss ", op: ">=", value: "2.5", afterStep: "100" }],
        nanKeys: ["", "acc"],
        stalledMinutes: ["15"],
        webhookSecret: "s3cret",
        slackUrl: "https://hooks.slack.com/services/T/B/x",
        emails: "a@x.org, b@x.org\nc@x.org",
      }),
    );
    expect(result).toEqual({
      ok: true,
      body: {
        name: "loss watch",
        enabled: true,
        experiment_ids: [3, 5],
        triggers: [
          { type: "run.finished" },
          { type: "run.killed" },
          { type: "run.alert", min_level: "error" },
          { type: "metric.threshold", key: "loss", op: ">=", value: 2.5, after_step: 100 },
          { type: "metric.nan" },
          { type: "metric.nan", key: "acc" },
          { type: "run.stalled", minutes: 15 },
        ],
        channels: [
          { type: "webhook", url: "https://h.example/", secret: "s3cret" },
          { type: "slack", url: "https://hooks.slack.com/services/T/B/x" },
          { type: "email", to: ["a@x.org", "b@x.org", "c@x.org"] },
        ],
      },
    });
  });

  it("leaves out experiment_ids, an empty secret and an empty after step", () => {
    const result = draftToRequest(
      draft({ statuses: ["run.failed"], thresholds: [{ key: "l", op: "<", value: "0", afterStep: " " }] }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect("experiment_ids" in result.body).toBe(false);
    expect(result.body.channels).toEqual([{ type: "webhook", url: "https://h.example/" }]);
    expect(result.body.triggers[1]).toEqual({ type: "metric.threshold", key: "l", op: "<", value: 0 });
  });

  it("says what to fix instead of sending a body the server would refuse", () => {
    const fails = (d: RuleDraft) => {
      const result = draftToRequest(d);
      return result.ok ? null : result.error;
    };
    expect(fails(draft({ name: " ", statuses: ["run.failed"] }))).toMatch(/name/);
    expect(fails(draft({}))).toMatch(/at least one trigger/);
    expect(fails(draft({ statuses: ["run.failed"], webhookUrl: "" }))).toMatch(/at least one channel/);
    expect(
      fails(draft({ thresholds: [{ key: "loss", op: ">", value: "abc", afterStep: "" }] })),
    ).toBe("threshold 1: enter a number");
    expect(fails(draft({ thresholds: [{ key: "", op: ">", value: "1", afterStep: "" }] }))).toMatch(
      /metric key/,
    );
    expect(
      fails(draft({ thresholds: [{ key: "l", op: ">", value: "1", afterStep: "2.5" }] })),
    ).toMatch(/whole number/);
    expect(fails(draft({ stalledMinutes: ["0"] }))).toMatch(/above 0/);
    expect(fails(draft({ statuses: ["run.failed"], webhookUrl: "", webhookSecret: "k" }))).toMatch(
      /secret needs a URL/,
    );
  });

  it("splits e-mail addresses on commas, semicolons and white space", () => {
    expect(parseEmails(" a@x.org;b@x.org ,\n c@x.org ")).toEqual(["a@x.org", "b@x.org", "c@x.org"]);
    expect(parseEmails("  ")).toEqual([]);
  });
});
