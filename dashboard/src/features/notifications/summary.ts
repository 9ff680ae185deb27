// Readable one-line descriptions of a rule's triggers, channels and experiments.
import type { ChannelRead, Trigger } from "../../api/notifications";

export function describeTrigger(trigger: Trigger): string {
  switch (trigger.type) {
    case "run.finished":
      return "run finished";
    case "run.failed":
      return "run failed";
    case "run.killed":
      return "run killed";
    case "run.alert":
      // "info" is the lowest level: every alert passes it.
      return trigger.min_level === "info" ? "any alert" : `alert at ${trigger.min_level} or above`;
    case "metric.threshold": {
      const after =
        trigger.after_step === null || trigger.after_step === undefined
          ? ""
          : ` after step ${trigger.after_step}`;
      return `${trigger.key} ${trigger.op} ${trigger.value}${after}`;
    }
    case "metric.nan":
      return trigger.key ? `NaN or ∞ in ${trigger.key}` : "NaN or ∞ in any metric";
    case "run.stalled":
      return `no new points for ${trigger.minutes} min`;
  }
}

export function describeChannel(channel: ChannelRead): string {
  switch (channel.type) {
    case "webhook":
      return `webhook ${channel.url}${channel.has_secret ? " (signed)" : ""}`;
    case "slack":
      return `Slack via ${channel.host}`;
    case "email":
      return `e-mail to ${channel.to.join(", ")}`;
  }
}

/** `null` ids mean every experiment; unknown ids (deleted, or not loaded) show as numbers. */
export function describeExperiments(
  ids: readonly number[] | null,
  names: ReadonlyMap<number, string>,
): string {
  if (ids === null) return "all experiments";
  if (ids.length === 0) return "no experiments";
  return ids.map((id) => names.get(id) ?? `#${id}`).join(", ");
}
