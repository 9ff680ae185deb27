// Notification rules: the list with each rule's controls, and the form for a new one.
import { RuleCard } from "./RuleCard";
import { RuleForm } from "./RuleForm";
import { useExperimentChoices, useRules } from "./queries";

export default function NotificationsPage() {
  const rules = useRules();
  const { experiments, names, error: experimentsError } = useExperimentChoices();
  const list = rules.data ?? [];

  return (
    <main data-testid="notifications-page">
      <h1>Notifications</h1>
      <p className="muted">
        Rules send a message to a webhook, Slack or e-mail when a run ends, alerts, crosses a
        metric threshold, logs NaN or stalls.
      </p>
      {rules.error ? <div className="error-banner">{rules.error.message}</div> : null}
      {experimentsError ? <div className="error-banner">{experimentsError.message}</div> : null}
      <div className="notifications">
        <section aria-labelledby="rules-heading" className="rule-list" data-testid="rule-list">
          <h2 id="rules-heading">
            Rules <span className="muted">({rules.isPending ? "…" : list.length})</span>
          </h2>
          {!rules.isPending && list.length === 0 ? <p className="muted">No rules yet.</p> : null}
          {list.map((rule) => (
            <RuleCard key={rule.id} rule={rule} names={names} />
          ))}
        </section>
        <RuleForm experiments={experiments} />
      </div>
    </main>
  );
}
