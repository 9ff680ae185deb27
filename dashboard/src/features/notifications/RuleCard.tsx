// One rule: what it watches and where it sends, with enable, test, delete and deliveries.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { deleteRule, testRule, updateRule, type Rule } from "../../api/notifications";
import { DeliveriesPanel } from "./DeliveriesPanel";
import { notificationKeys } from "./queries";
import { describeChannel, describeExperiments, describeTrigger } from "./summary";

function replaceRule(rules: Rule[] | undefined, rule: Rule): Rule[] | undefined {
  return rules?.map((r) => (r.id === rule.id ? rule : r));
}

export function RuleCard({ rule, names }: { rule: Rule; names: ReadonlyMap<number, string> }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const [showDeliveries, setShowDeliveries] = useState(false);

  // The box shows the clicked state until the PATCH settles (then the server's answer, or the
  // old state if it failed): a controlled checkbox must change in the click's own render.
  const [shownEnabled, setShownEnabled] = useState<boolean | null>(null);
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => updateRule(rule.id, { enabled }),
    // A list read already under way may predate the PATCH: cancel it, read again after.
    onMutate: () => queryClient.cancelQueries({ queryKey: notificationKeys.rules }),
    onSuccess: (updated) =>
      queryClient.setQueryData<Rule[]>(notificationKeys.rules, (old) => replaceRule(old, updated)),
    onSettled: () => {
      setShownEnabled(null);
      return queryClient.invalidateQueries({ queryKey: notificationKeys.rules });
    },
  });
  const remove = useMutation({
    mutationFn: () => deleteRule(rule.id),
    onSuccess: () => {
      queryClient.setQueryData<Rule[]>(notificationKeys.rules, (old) =>
        old?.filter((r) => r.id !== rule.id),
      );
      queryClient.removeQueries({ queryKey: notificationKeys.deliveries(rule.id) });
    },
  });
  const test = useMutation({ mutationFn: () => testRule(rule.id) });
  const error = toggle.error ?? remove.error ?? test.error;

  return (
    <article
      className="rule-card"
      data-testid="notification-rule"
      data-rule-id={rule.id}
      aria-label={`Rule ${rule.name}`}
    >
      <header className="rule-head">
        <strong className="rule-name">{rule.name}</strong>
        <label className="rule-toggle">
          <input
            type="checkbox"
            checked={shownEnabled ?? rule.enabled}
            disabled={toggle.isPending}
            onChange={(e) => {
              setShownEnabled(e.target.checked);
              toggle.mutate(e.target.checked);
            }}
          />
          Enabled
        </label>
        <span className="spacer" />
        <button type="button" disabled={test.isPending} onClick={() => test.mutate()}>
          {test.isPending ? "Sending…" : "Send test"}
        </button>
        <button
          type="button"
          aria-expanded={showDeliveries}
          onClick={() => setShowDeliveries((open) => !open)}
        >
          Deliveries
        </button>
        <button type="button" onClick={() => setConfirming(true)} disabled={confirming}>
          Delete
        </button>
      </header>
      {confirming ? (
        <div className="rule-confirm" role="group" aria-label="Confirm deletion">
          <span>Delete “{rule.name}”? It stops notifying at once.</span>
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => remove.mutate()}
          >
            Delete rule
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : null}
      <dl className="rule-meta">
        <dt>Triggers</dt>
        <dd data-testid="rule-triggers">{rule.triggers.map(describeTrigger).join("; ")}</dd>
        <dt>Channels</dt>
        <dd data-testid="rule-channels">
          {rule.channels.map((c, i) => (
            <div key={i}>{describeChannel(c)}</div>
          ))}
        </dd>
        <dt>Experiments</dt>
        <dd data-testid="rule-experiments">{describeExperiments(rule.experiment_ids, names)}</dd>
        {rule.run_filter ? (
          <>
            <dt>Runs</dt>
            <dd className="mono">{rule.run_filter}</dd>
          </>
        ) : null}
      </dl>
      {error ? (
        <div className="error-banner" role="alert">
          {error.message}
        </div>
      ) : null}
      {test.data ? (
        <ul className="test-results" data-testid="test-results">
          {test.data.map((r) => {
            const channel = rule.channels[r.channel_index];
            return (
              <li key={r.channel_index} data-ok={r.ok}>
                <span className={r.ok ? "ok" : "failed"}>{r.ok ? "✓ ok" : "✗ failed"}</span>{" "}
                {channel ? describeChannel(channel) : r.type}
                {r.error ? <span className="mono">: {r.error}</span> : null}
              </li>
            );
          })}
        </ul>
      ) : null}
      {showDeliveries ? <DeliveriesPanel ruleId={rule.id} channels={rule.channels} /> : null}
    </article>
  );
}
