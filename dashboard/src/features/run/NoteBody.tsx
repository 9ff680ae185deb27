// A run's note rendered through renderNoteHtml (no raw HTML, sanitised). A chunk of its
// own, loaded only for a note to show: the Markdown parser builds its grammar when its
// module is evaluated (about 50 ms of a run page's first visit on a loaded machine, for
// runs that mostly have no notes).
import { useMemo } from "react";
import { renderNoteHtml } from "./markdown";

export default function NoteBody({ markdown }: { markdown: string }) {
  const html = useMemo(() => renderNoteHtml(markdown), [markdown]);
  // Safe: renderNoteHtml escapes raw HTML and sanitises the result.
  return <div className="markdown" data-testid="notes-body" dangerouslySetInnerHTML={{ __html: html }} />;
}
