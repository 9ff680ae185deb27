// The preview of one artifact: images shown, Markdown rendered safely (no raw HTML, as
// run notes), JSON pretty-printed, YAML and text as text, CSV as a virtualised table;
// anything else (and everything, too) can be downloaded.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { renderNoteHtml } from "../run/markdown";
import { artifactUrl, fetchText, type TextPreview } from "./api";
import { parseCsv, prettyJson, previewKind, type PreviewKind } from "./preview";
import { formatBytes } from "./tree";
import { VirtualTable } from "./VirtualTable";

function TextBody({ kind, preview, path }: { kind: PreviewKind; preview: TextPreview; path: string }) {
  const html = useMemo(
    () => (kind === "markdown" ? renderNoteHtml(preview.text) : ""),
    [kind, preview.text],
  );
  const table = useMemo(() => {
    if (kind !== "csv") return null;
    const rows = parseCsv(preview.text, path.endsWith(".tsv") ? "\t" : ",", preview.truncated);
    return { columns: rows[0] ?? [], rows: rows.slice(1) };
  }, [kind, preview, path]);
  if (kind === "markdown") {
    // renderNoteHtml escapes HTML written in the file and sanitises what Markdown makes.
    return <div className="markdown" data-testid="preview-markdown" dangerouslySetInnerHTML={{ __html: html }} />;
  }
  if (table) return <VirtualTable columns={table.columns} rows={table.rows} testId="preview-table" />;
  const text = kind === "json" ? prettyJson(preview.text) : preview.text;
  return (
    <pre className="artifact-text" data-testid="preview-text">
      {text}
    </pre>
  );
}

export function FilePreview({ runId, path, size }: { runId: string; path: string; size: number | null }) {
  const kind = previewKind(path);
  const textual = kind !== "image" && kind !== "download";
  const text = useQuery({
    queryKey: ["artifact-text", runId, path, size],
    queryFn: ({ signal }) => fetchText(runId, path, signal),
    enabled: textual,
    staleTime: 60_000,
  });
  const url = artifactUrl(runId, path);
  return (
    <section className="artifact-preview" data-testid="artifact-preview" data-path={path}>
      <div className="artifact-preview-head">
        <strong>{path}</strong>
        <span className="muted">{formatBytes(size)}</span>
        <a href={url} download data-testid="artifact-download">
          download
        </a>
      </div>
      {kind === "image" ? (
        <img className="artifact-image" src={url} alt={path} data-testid="preview-image" />
      ) : kind === "download" ? (
        <p className="muted">No preview for this kind of file.</p>
      ) : text.error ? (
        <div className="error-banner">{text.error.message}</div>
      ) : text.data ? (
        <>
          {text.data.truncated ? (
            <p className="muted">Showing the first part of the file; download it for the rest.</p>
          ) : null}
          <TextBody kind={kind} preview={text.data} path={path} />
        </>
      ) : (
        <p className="muted">loading…</p>
      )}
    </section>
  );
}
