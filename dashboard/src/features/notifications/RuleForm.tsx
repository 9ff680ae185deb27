// The new-rule form. Client checks catch what a person can fix at once; anything the
// server refuses (an unsafe target, a bad filter) is shown with the server's message.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type SyntheticEvent } from "react";
import { createRule, type AlertLevel, type Rule, type ThresholdOp } from "../../api/notifications";
import type { Experiment } from "../../api/types";
import {
  ALERT_LEVELS,
  draftToRequest,
  emptyDraft,
  emptyThreshold,
  STATUS_TRIGGERS,
  THRESHOLD_OPS,
  type RuleDraft,
  type StatusTrigger,
  type ThresholdRow,
} from "./draft";
import { notificationKeys } from "./queries";
import { describeTrigger } from "./summary";

/** `list` with item `index` replaced by `item`, or removed when `item` is null. */
function withItem<T>(list: readonly T[], index: number, item: T | null): T[] {
  return item === null
    ? list.filter((_, i) => i !== index)
    : list.map((old, i) => (i === index ? item : old));
}

function ThresholdFields({
  row,
  n,
  onChange,
}: {
  row: ThresholdRow;
  n: number;
  onChange: (row: ThresholdRow | null) => void;
}) {
  return (
    <div className="form-row">
      <input
        aria-label={`Threshold ${n} metric key`}
        placeholder="key, e.g. loss"
        value={row.key}
        onChange={(e) => onChange({ ...row, key: e.target.value })}
      />
      <select
        aria-label={`Threshold ${n} comparison`}
        value={row.op}
        onChange={(e) => onChange({ ...row, op: e.target.value as ThresholdOp })}
      >
        {THRESHOLD_OPS.map((op) => (
          <option key={op}>{op}</option>
        ))}
      </select>
      <input
        aria-label={`Threshold ${n} value`}
        placeholder="value"
        inputMode="decimal"
        value={row.value}
        onChange={(e) => onChange({ ...row, value: e.target.value })}
      />
      <input
        aria-label={`Threshold ${n} after step`}
        placeholder="after step"
        inputMode="numeric"
        value={row.afterStep}
        onChange={(e) => onChange({ ...row, afterStep: e.target.value })}
      />
      <button type="button" onClick={() => onChange(null)} aria-label={`Remove threshold ${n}`}>
        ×
      </button>
    </div>
  );
}

function TextRow({
  title,
  label,
  placeholder,
  value,
  onChange,
}: {
  /** Shown before the box; `label` names the box itself, with its row number. */
  title: string;
  label: string;
  placeholder: string;
  value: string;
  onChange: (value: string | null) => void;
}) {
  return (
    <div className="form-row">
      <span className="form-row-label">{title}</span>
      <input
        aria-label={label}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      <button type="button" onClick={() => onChange(null)} aria-label={`Remove ${label}`}>
        ×
      </button>
    </div>
  );
}

export function RuleForm({ experiments }: { experiments: readonly Experiment[] }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<RuleDraft>(emptyDraft);
  const [invalid, setInvalid] = useState<string | null>(null);
  const set = (change: Partial<RuleDraft>) => setDraft((d) => ({ ...d, ...change }));

  const create = useMutation({
    mutationFn: createRule,
    onSuccess: (rule) => {
      queryClient.setQueryData<Rule[]>(notificationKeys.rules, (old) => [...(old ?? []), rule]);
      void queryClient.invalidateQueries({ queryKey: notificationKeys.rules });
      setDraft(emptyDraft());
    },
  });

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    const result = draftToRequest(draft);
    setInvalid(result.ok ? null : result.error);
    if (result.ok) create.mutate(result.body);
    else create.reset();
  };
  const toggleStatus = (status: StatusTrigger, on: boolean) =>
    set({ statuses: on ? [...draft.statuses, status] : draft.statuses.filter((s) => s !== status) });
  const error = invalid ?? create.error?.message ?? null;

  return (
    <form className="rule-form" onSubmit={submit} aria-labelledby="new-rule-heading" noValidate>
      <h2 id="new-rule-heading">New rule</h2>
      <label className="field">
        Name
        <input value={draft.name} onChange={(e) => set({ name: e.target.value })} />
      </label>
      <div className="field">
        <label className="field">
          Experiments
          <select
            multiple
            size={Math.min(6, Math.max(2, experiments.length))}
            value={draft.experimentIds.map(String)}
            onChange={(e) =>
              set({ experimentIds: Array.from(e.target.selectedOptions, (o) => Number(o.value)) })
            }
          >
            {experiments.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <span className="muted hint">
          {draft.experimentIds.length === 0
            ? "None selected: the rule watches every experiment."
            : `${draft.experimentIds.length} selected (Ctrl/⌘-click to change).`}
        </span>
      </div>

      <fieldset>
        <legend>Triggers</legend>
        <div className="form-row">
          {STATUS_TRIGGERS.map((status) => (
            <label key={status} className="check">
              <input
                type="checkbox"
                checked={draft.statuses.includes(status)}
                onChange={(e) => toggleStatus(status, e.target.checked)}
              />
              {describeTrigger({ type: status }).replace(/^run/, "Run")}
            </label>
          ))}
        </div>
        <div className="form-row">
          <label className="check">
            <input
              type="checkbox"
              checked={draft.alert}
              onChange={(e) => set({ alert: e.target.checked })}
            />
            Alert from the run
          </label>
          <select
            aria-label="Lowest alert level"
            value={draft.alertLevel}
            disabled={!draft.alert}
            onChange={(e) => set({ alertLevel: e.target.value as AlertLevel })}
          >
            {ALERT_LEVELS.map((level) => (
              <option key={level} value={level}>
                {level} or above
              </option>
            ))}
          </select>
        </div>
        {draft.thresholds.map((row, i) => (
          <ThresholdFields
            key={i}
            row={row}
            n={i + 1}
            onChange={(next) => set({ thresholds: withItem(draft.thresholds, i, next) })}
          />
        ))}
        {draft.nanKeys.map((key, i) => (
          <TextRow
            key={i}
            title="NaN or ∞ in"
            label={`NaN check ${i + 1}`}
            placeholder="metric key (empty: any metric)"
            value={key}
            onChange={(next) => set({ nanKeys: withItem(draft.nanKeys, i, next) })}
          />
        ))}
        {draft.stalledMinutes.map((minutes, i) => (
          <TextRow
            key={i}
            title="No new point for (minutes)"
            label={`Stalled minutes ${i + 1}`}
            placeholder="minutes without a new point"
            value={minutes}
            onChange={(next) => set({ stalledMinutes: withItem(draft.stalledMinutes, i, next) })}
          />
        ))}
        <div className="form-row">
          <button
            type="button"
            onClick={() => set({ thresholds: [...draft.thresholds, emptyThreshold()] })}
          >
            + Threshold
          </button>
          <button type="button" onClick={() => set({ nanKeys: [...draft.nanKeys, ""] })}>
            + NaN check
          </button>
          <button
            type="button"
            onClick={() => set({ stalledMinutes: [...draft.stalledMinutes, "30"] })}
          >
            + Stalled check
          </button>
        </div>
      </fieldset>

      <fieldset>
        <legend>Channels</legend>
        <label className="field">
          Webhook URL
          <input
            type="url"
            placeholder="https://…"
            value={draft.webhookUrl}
            onChange={(e) => set({ webhookUrl: e.target.value })}
          />
        </label>
        <label className="field">
          Webhook secret (optional, signs each body)
          <input
            type="password"
            autoComplete="new-password"
            value={draft.webhookSecret}
            onChange={(e) => set({ webhookSecret: e.target.value })}
          />
        </label>
        <label className="field">
          Slack webhook URL
          <input
            type="url"
            placeholder="https://hooks.slack.com/services/…"
            value={draft.slackUrl}
            onChange={(e) => set({ slackUrl: e.target.value })}
          />
        </label>
        <label className="field">
          E-mail addresses
          <textarea
            rows={2}
            placeholder="one or more, separated by commas"
            value={draft.emails}
            onChange={(e) => set({ emails: e.target.value })}
          />
        </label>
      </fieldset>

      {error ? (
        <div className="form-error" role="alert" data-testid="rule-form-error">
          {error}
        </div>
      ) : null}
      <div className="form-row">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create rule"}
        </button>
      </div>
    </form>
  );
}
