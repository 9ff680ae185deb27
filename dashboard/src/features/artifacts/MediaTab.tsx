// The run page's Media tab: image series with step sliders, histograms over steps, tables
// and texts, from the run's media index (what log_image, log_histogram, log_table and
// log_text uploaded).
import { useQuery } from "@tanstack/react-query";
import { fetchTable, fetchText, getMedia, type TableRef } from "./api";
import { HistogramPanel } from "./HistogramPanel";
import { ImageSeriesPanel } from "./ImageSeriesPanel";
import { VirtualTable } from "./VirtualTable";
import "./artifacts.css";

function TablePanel({ runId, table }: { runId: string; table: TableRef }) {
  const data = useQuery({
    queryKey: ["media-table", runId, table.path],
    queryFn: ({ signal }) => fetchTable(runId, table.path, signal),
  });
  return (
    <section className="media-card wide" data-testid="media-table" data-key={table.key}>
      <div className="media-title">
        <strong>{table.key}</strong>
      </div>
      {data.error ? (
        <div className="error-banner">{data.error.message}</div>
      ) : data.data ? (
        <VirtualTable columns={data.data.columns} rows={data.data.rows} />
      ) : (
        <p className="muted">loading…</p>
      )}
    </section>
  );
}

function TextPanel({ runId, textKey, path }: { runId: string; textKey: string; path: string }) {
  const data = useQuery({
    queryKey: ["artifact-text", runId, path],
    queryFn: ({ signal }) => fetchText(runId, path, signal),
  });
  return (
    <section className="media-card wide" data-testid="media-text" data-key={textKey}>
      <div className="media-title">
        <strong>{textKey}</strong>
      </div>
      <pre className="artifact-text">{data.data?.text ?? ""}</pre>
    </section>
  );
}

export default function MediaTab({ runId, running }: { runId: string; running: boolean }) {
  const media = useQuery({
    queryKey: ["media", runId],
    queryFn: ({ signal }) => getMedia(runId, signal),
    refetchInterval: running ? 5_000 : false,
  });
  if (media.error) return <div className="error-banner">{media.error.message}</div>;
  if (!media.data) return <p className="muted">Loading media…</p>;
  const { images, histograms, tables, texts } = media.data;
  if (images.length + histograms.length + tables.length + texts.length === 0) {
    return (
      <p className="muted" data-testid="media-empty">
        No media yet: log some with <code>run.log_image</code>, <code>log_histogram</code>,{" "}
        <code>log_table</code> or <code>log_text</code>.
      </p>
    );
  }
  return (
    <div data-testid="media-tab">
      {images.length ? <h2>Images</h2> : null}
      <div className="media-grid">
        {images.map((series) => (
          <ImageSeriesPanel key={series.key} runId={runId} series={series} />
        ))}
      </div>
      {histograms.length ? <h2>Histograms</h2> : null}
      <div className="media-grid">
        {histograms.map((series) => (
          <HistogramPanel key={series.key} series={series} />
        ))}
      </div>
      {tables.length ? <h2>Tables</h2> : null}
      {tables.map((table) => (
        <TablePanel key={table.key} runId={runId} table={table} />
      ))}
      {texts.length ? <h2>Texts</h2> : null}
      {texts.map((text) => (
        <TextPanel key={text.key} runId={runId} textKey={text.key} path={text.path} />
      ))}
    </div>
  );
}
