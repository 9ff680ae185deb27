import { describe, expect, it } from "vitest";
import { describeChannel, describeExperiments, describeTrigger } from "./summary";

describe("rule summaries", () => {
  it("describes each trigger type in words", () => {
    expect(describeTrigger({ type: "run.failed" })).toBe("run failed");
    expect(describeTrigger({ type: "run.alert", min_level: "info" })).toBe("any alert");
    expect(describeTrigger({ type: "run.alert", min_level: "warn" })).toBe("alert at warn or above");
    expect(describeTrigger({ type: "metric.threshold", key: "loss", op: ">=", value: 5 })).toBe(
      "loss >= 5",
    );
    expect(
      describeTrigger({ type: "metric.threshold", key: "acc", op: "<", value: 0.1, after_step: 100 }),
    ).toBe("acc < 0.1 after step 100");
    expect(describeTrigger({ type: "metric.nan" })).toBe("NaN or ∞ in any metric");
    expect(describeTrigger({ type: "metric.nan", key: "loss" })).toBe("NaN or ∞ in loss");
    expect(describeTrigger({ type: "run.stalled", minutes: 30 })).toBe("no new points for 30 min");
  });

  it("shows what the server returns of each channel, never a secret", () => {
    expect(describeChannel({ type: "webhook", url: "https://h.example/x", has_secret: true })).toBe(
      "webhook https://h.example/x (signed)",
    );
    expect(describeChannel({ type: "webhook", url: "https://h.example/x", has_secret: false })).toBe(
      "webhook https://h.example/x",
    );
    expect(describeChannel({ type: "slack", host: "hooks.slack.com" })).toBe(
      "Slack via hooks.slack.com",
    );
    expect(describeChannel({ type: "email", to: ["a@x.org", "b@x.org"] })).toBe(
      "e-mail to a@x.org, b@x.org",
    );
  });

  it("names the experiments, all of them when the rule has no list", () => {
    const names = new Map([[1, "mnist"]]);
    expect(describeExperiments(null, names)).toBe("all experiments");
    expect(describeExperiments([1, 7], names)).toBe("mnist, #7");
  });
});
