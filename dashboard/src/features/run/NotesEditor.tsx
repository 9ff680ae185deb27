// The run's description in Markdown, kept in the `mlflow.note.content` tag so MLflow's
// UI and client see the same text. Rendered by NoteBody (no raw HTML).
import { lazy, Suspense, useState } from "react";
import { NOTE_TAG } from "../../mlflowTags";
import { useDeleteRunTag, useSetRunTags } from "../editing/runEdits";

const NoteBody = lazy(() => import("./NoteBody"));

export function NotesEditor({
  runId,
  note,
  canEdit,
}: {
  runId: string;
  note: string;
  canEdit: boolean;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const setTags = useSetRunTags();
  const removeTag = useDeleteRunTag();

  const save = () => {
    if (draft === null) return;
    const text = draft.trim();
    if (text === "" && note !== "") removeTag.mutate({ runId, key: NOTE_TAG });
    else if (text !== "" && draft !== note) setTags.mutate({ runId, tags: { [NOTE_TAG]: draft } });
    setDraft(null);
  };

  return (
    <section className="notes" data-testid="run-notes">
      <h2>
        Notes{" "}
        {canEdit && draft === null ? (
          <button type="button" className="link-button" onClick={() => setDraft(note)}>
            {note ? "Edit" : "Add notes"}
          </button>
        ) : null}
      </h2>
      {draft !== null ? (
        <div className="notes-edit">
          <textarea
            aria-label="Run notes (Markdown)"
            rows={8}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="form-row">
            <button type="button" className="primary" onClick={save}>
              Save notes
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              Cancel
            </button>
            <span className="muted">Markdown; preview below</span>
          </div>
        </div>
      ) : null}
      {note || draft ? (
        <Suspense fallback={<p className="muted">…</p>}>
          <NoteBody markdown={draft ?? note} />
        </Suspense>
      ) : (
        <p className="muted">No notes.</p>
      )}
    </section>
  );
}
