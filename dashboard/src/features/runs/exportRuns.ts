// "Export CSV": every run of the current view (filter, sort, visible columns) from
// POST /runs/export, which reads them all on the server in chunks — not just the pages
// the table has loaded.
import { API_BASE, csrfToken, errorFrom } from "../../api/client";

export interface ExportRequest {
  experimentId: number;
  filter: string;
  orderBy: string[] | undefined;
  lifecycleStage: "active" | "deleted";
  columns: string[];
}

export function exportBody(req: ExportRequest): Record<string, unknown> {
  return {
    experiment_ids: [req.experimentId],
    ...(req.filter.trim() ? { filter: req.filter } : {}),
    ...(req.orderBy ? { order_by: req.orderBy } : {}),
    lifecycle_stage: req.lifecycleStage,
    format: "csv",
    columns: req.columns,
  };
}

/** Fetches the CSV and hands it to the browser as a download. */
export async function downloadRunsCsv(req: ExportRequest): Promise<void> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "text/csv" };
  const token = csrfToken(document.cookie);
  if (token) headers["X-CSRF-Token"] = token;
  const response = await fetch(`${API_BASE}/runs/export`, {
    method: "POST",
    headers,
    body: JSON.stringify(exportBody(req)),
  });
  if (!response.ok) throw await errorFrom(response);
  // The browser keeps a large blob on disk, not in the page's memory.
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `experiment-${req.experimentId}-runs.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
