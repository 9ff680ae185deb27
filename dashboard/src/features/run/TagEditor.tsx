// A run's user tags: listed, each editable and removable, and a row to add one. System
// (`mlflow.*`) tags are shown read-only elsewhere.
import { useState } from "react";
import { isSystemTag } from "../../mlflowTags";
import { useDeleteRunTag, useSetRunTags } from "../editing/runEdits";

function TagRow({
  runId,
  tagKey,
  value,
  canEdit,
}: {
  runId: string;
  tagKey: string;
  value: string;
  canEdit: boolean;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const setTags = useSetRunTags();
  const removeTag = useDeleteRunTag();
  if (draft !== null) {
    return (
      <tr data-tag={tagKey}>
        <td>{tagKey}</td>
        <td>
          <form
            className="form-row"
            onSubmit={(e) => {
              e.preventDefault();
              if (draft !== value) setTags.mutate({ runId, tags: { [tagKey]: draft } });
              setDraft(null);
            }}
          >
            <input
              aria-label={`Value of tag ${tagKey}`}
              value={draft}
              autoFocus
              onChange={(e) => setDraft(e.target.value)}
            />
            <button type="submit" className="primary">
              Save
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </form>
        </td>
      </tr>
    );
  }
  return (
    <tr data-tag={tagKey}>
      <td>{tagKey}</td>
      <td>
        <span className="tag-value">{value}</span>
        {canEdit ? (
          <span className="row-actions">
            <button
              type="button"
              className="link-button"
              aria-label={`Edit tag ${tagKey}`}
              onClick={() => setDraft(value)}
            >
              edit
            </button>
            <button
              type="button"
              className="link-button"
              aria-label={`Remove tag ${tagKey}`}
              onClick={() => removeTag.mutate({ runId, key: tagKey })}
            >
              remove
            </button>
          </span>
        ) : null}
      </td>
    </tr>
  );
}

function AddTag({ runId, existing }: { runId: string; existing: Record<string, string> }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const setTags = useSetRunTags();
  const trimmed = key.trim();
  const problem = isSystemTag(trimmed)
    ? "mlflow.* tags are set by MLflow"
    : trimmed in existing
      ? "exists: edit it above"
      : null;
  return (
    <form
      className="form-row add-tag"
      onSubmit={(e) => {
        e.preventDefault();
        if (!trimmed || problem) return;
        setTags.mutate({ runId, tags: { [trimmed]: value } });
        setKey("");
        setValue("");
      }}
    >
      <input aria-label="New tag key" placeholder="key" value={key} onChange={(e) => setKey(e.target.value)} />
      <input
        aria-label="New tag value"
        placeholder="value"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit" disabled={!trimmed || problem !== null}>
        Add tag
      </button>
      {problem && trimmed ? <span className="muted">{problem}</span> : null}
    </form>
  );
}

export function TagEditor({
  runId,
  tags,
  canEdit,
}: {
  runId: string;
  tags: Record<string, string>;
  canEdit: boolean;
}) {
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section>
      <h2>
        Tags <span className="muted">({entries.length})</span>
      </h2>
      {entries.length === 0 ? <p className="muted">none</p> : null}
      <table className="plain kv" data-testid="tags-table">
        <tbody>
          {entries.map(([k, v]) => (
            <TagRow key={k} runId={runId} tagKey={k} value={v} canEdit={canEdit} />
          ))}
        </tbody>
      </table>
      {canEdit ? <AddTag runId={runId} existing={tags} /> : null}
    </section>
  );
}
