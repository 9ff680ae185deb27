// A name with a Rename button: click to edit in place, Enter or Save to keep, Escape to
// cancel. Without permission it is plain text.
import { useState, type ReactNode } from "react";

interface Props {
  value: string;
  /** What is renamed, for labels ("run", "experiment"). */
  what: string;
  canEdit: boolean;
  onSave: (name: string) => void;
  maxLength: number;
  children?: ReactNode;
}

export function EditableTitle({ value, what, canEdit, onSave, maxLength, children }: Props) {
  const [draft, setDraft] = useState<string | null>(null);
  if (draft === null) {
    return (
      <h1 className="editable-title">
        <span data-testid="title-text">{value}</span> {children}
        {canEdit ? (
          <button type="button" className="link-button" onClick={() => setDraft(value)}>
            Rename
          </button>
        ) : null}
      </h1>
    );
  }
  const name = draft.trim();
  const save = () => {
    if (name && name !== value) onSave(name);
    setDraft(null);
  };
  return (
    <form
      className="rename-form"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <input
        aria-label={`New ${what} name`}
        value={draft}
        maxLength={maxLength}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") setDraft(null);
        }}
      />
      <button type="submit" className="primary" disabled={!name}>
        Save
      </button>
      <button type="button" onClick={() => setDraft(null)}>
        Cancel
      </button>
    </form>
  );
}
