// The new-rule form's state and its translation into a RuleCreate body, checked on the
// client only where the server's answer would be less helpful (numbers, empty lists).
import type { AlertLevel, Channel, RuleCreate, ThresholdOp, Trigger } from "../../api/notifications";

export type StatusTrigger = "run.finished" | "run.failed" | "run.killed";
export const STATUS_TRIGGERS: readonly StatusTrigger[] = ["run.finished", "run.failed", "run.killed"];
export const THRESHOLD_OPS: readonly ThresholdOp[] = [">", ">=", "<", "<="];
export const ALERT_LEVELS: readonly AlertLevel[] = ["info", "warn", "error"];

/** Numbers stay the text typed until submit, so a half-typed "1e" is not lost. */
export interface ThresholdRow {
  key: string;
  op: ThresholdOp;
  value: string;
  afterStep: string;
}

export interface RuleDraft {
  name: string;
  /** Empty: every experiment. */
  experimentIds: number[];
  statuses: StatusTrigger[];
  alert: boolean;
  alertLevel: AlertLevel;
  thresholds: ThresholdRow[];
  /** One row per NaN check; an empty key watches every metric. */
  nanKeys: string[];
  stalledMinutes: string[];
  webhookUrl: string;
  webhookSecret: string;
  slackUrl: string;
  /** Addresses separated by commas, spaces or new lines. */
  emails: string;
}

export function emptyDraft(): RuleDraft {
  return {
    name: "",
    experimentIds: [],
    statuses: [],
    alert: false,
    alertLevel: "warn",
    thresholds: [],
    nanKeys: [],
    stalledMinutes: [],
    webhookUrl: "",
    webhookSecret: "",
    slackUrl: "",
    emails: "",
  };
}

export const emptyThreshold = (): ThresholdRow => ({ key: "", op: ">", value: "", afterStep: "" });

export type DraftResult = { ok: true; body: RuleCreate } | { ok: false; error: string };

class DraftError extends Error {}

function finite(text: string, what: string): number {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value)) throw new DraftError(`${what}: enter a number`);
  return value;
}

function triggersOf(draft: RuleDraft): Trigger[] {
  const triggers: Trigger[] = STATUS_TRIGGERS.filter((t) => draft.statuses.includes(t)).map(
    (type) => ({ type }),
  );
  if (draft.alert) triggers.push({ type: "run.alert", min_level: draft.alertLevel });
  draft.thresholds.forEach((row, i) => {
    const what = `threshold ${i + 1}`;
    const key = row.key.trim();
    if (!key) throw new DraftError(`${what}: enter the metric key`);
    const value = finite(row.value, what);
    const trigger: Trigger = { type: "metric.threshold", key, op: row.op, value };
    if (row.afterStep.trim() !== "") {
      const step = finite(row.afterStep, `${what}, after step`);
      if (!Number.isInteger(step) || step < 0) {
        throw new DraftError(`${what}, after step: enter a whole number ≥ 0`);
      }
      trigger.after_step = step;
    }
    triggers.push(trigger);
  });
  for (const key of draft.nanKeys) {
    const trimmed = key.trim();
    triggers.push(trimmed ? { type: "metric.nan", key: trimmed } : { type: "metric.nan" });
  }
  draft.stalledMinutes.forEach((text, i) => {
    const minutes = finite(text, `stalled check ${i + 1}`);
    if (minutes <= 0) throw new DraftError(`stalled check ${i + 1}: minutes must be above 0`);
    triggers.push({ type: "run.stalled", minutes });
  });
  return triggers;
}

export function parseEmails(text: string): string[] {
  return text.split(/[\s,;]+/).filter((address) => address !== "");
}

function channelsOf(draft: RuleDraft): Channel[] {
  const channels: Channel[] = [];
  const webhook = draft.webhookUrl.trim();
  if (webhook) {
    const secret = draft.webhookSecret;
    channels.push(
      secret ? { type: "webhook", url: webhook, secret } : { type: "webhook", url: webhook },
    );
  } else if (draft.webhookSecret) {
    throw new DraftError("webhook: a secret needs a URL");
  }
  const slack = draft.slackUrl.trim();
  if (slack) channels.push({ type: "slack", url: slack });
  const to = parseEmails(draft.emails);
  if (to.length > 0) channels.push({ type: "email", to });
  return channels;
}

/** The request body for the draft, or what to fix first. */
export function draftToRequest(draft: RuleDraft): DraftResult {
  try {
    const name = draft.name.trim();
    if (!name) throw new DraftError("Enter a name for the rule.");
    const triggers = triggersOf(draft);
    if (triggers.length === 0) throw new DraftError("Choose at least one trigger.");
    const channels = channelsOf(draft);
    if (channels.length === 0) {
      throw new DraftError("Add at least one channel: a webhook, a Slack URL or an e-mail address.");
    }
    const body: RuleCreate = { name, triggers, channels, enabled: true };
    // Omitted rather than empty: the server reads no list as "every experiment".
    if (draft.experimentIds.length > 0) body.experiment_ids = [...draft.experimentIds];
    return { ok: true, body };
  } catch (error) {
    if (error instanceof DraftError) return { ok: false, error: error.message };
    throw error;
  }
}
