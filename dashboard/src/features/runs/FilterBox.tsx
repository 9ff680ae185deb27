// The search-language filter: applied on Enter, with the server's 400 message
// shown inline under the box.
import { useState, type KeyboardEvent, type SyntheticEvent } from "react";

export const FILTER_EXAMPLE = "metrics.acc > 0.9 and params.lr = '0.01'";

interface Props {
  /** The applied filter (from the URL). Remount with key={value} to reset the draft. */
  value: string;
  error: string | null;
  onApply: (filter: string) => void;
}

export function FilterBox({ value, error, onApply }: Props) {
  const [draft, setDraft] = useState(value);
  const dirty = draft.trim() !== value.trim();

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    onApply(draft.trim());
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Escape") setDraft(value);
  };

  return (
    <form className="filter" role="search" onSubmit={submit}>
      <div className="filter-row">
        <input
          type="text"
          name="filter"
          aria-label="Filter runs"
          placeholder={FILTER_EXAMPLE}
          value={draft}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={error ? "true" : "false"}
          aria-describedby={error ? "filter-error" : undefined}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" disabled={!dirty && !error}>
          Apply
        </button>
        {value ? (
          <button
            type="button"
            onClick={() => {
              setDraft("");
              onApply("");
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {error ? (
        <div id="filter-error" className="filter-error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}
