// The runs table's loaded runs as the pages they came in, not one array: a page that
// arrives costs its own 500 runs, not a copy of every run loaded before it. With 100k
// runs loaded, re-copying, re-filtering and re-indexing the whole list at each page
// made each page's merge a long task that grew with the list (in Chromium at load 13:
// median 93 ms with up to 20k runs loaded, 399 ms past 80k). Only the rows in view are
// read, by index.
import type { Run, RunPage } from "../../api/types";
import { parentRunId } from "../../mlflowTags";

export interface LoadedRuns {
  /** The runs of the listed stage in each page, in page order. */
  chunks: readonly (readonly Run[])[];
  /** Index of each chunk's first run (ascending). */
  starts: readonly number[];
  count: number;
  /** Whether a loaded run names a parent run: then the table is a tree (see runTree). */
  nested: boolean;
}

interface PageRuns {
  stage: string;
  runs: readonly Run[];
  nested: boolean;
}

// A page's runs of a stage, worked out once per page object (a page changed by a live
// update is a new object, see updateRunsInPages).
const byPage = new WeakMap<RunPage, PageRuns>();

function pageRuns(page: RunPage, stage: string): PageRuns {
  const cached = byPage.get(page);
  if (cached?.stage === stage) return cached;
  // A run deleted or restored since its page loaded (here, elsewhere, live) leaves the list.
  const runs = page.runs.filter((r) => r.lifecycle_stage === stage);
  const entry = { stage, runs, nested: runs.some((r) => parentRunId(r) !== null) };
  byPage.set(page, entry);
  return entry;
}

/** The loaded runs of `stage`: O(pages) once each page has been seen. */
export function loadedRuns(pages: readonly RunPage[], stage: string): LoadedRuns {
  const chunks: (readonly Run[])[] = [];
  const starts: number[] = [];
  let count = 0;
  let nested = false;
  for (const page of pages) {
    const entry = pageRuns(page, stage);
    if (entry.runs.length === 0) continue;
    chunks.push(entry.runs);
    starts.push(count);
    count += entry.runs.length;
    nested ||= entry.nested;
  }
  return { chunks, starts, count, nested };
}

/** The run at `index` (binary search over the chunks' starts). */
export function runAt(list: LoadedRuns, index: number): Run | undefined {
  if (index < 0 || index >= list.count) return undefined;
  let lo = 0;
  let hi = list.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((list.starts[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return list.chunks[lo]?.[index - (list.starts[lo] as number)];
}

/** The first `limit` runs (all by default) as one array. */
export function firstRuns(list: LoadedRuns, limit = Infinity): Run[] {
  const out: Run[] = [];
  for (const chunk of list.chunks) {
    if (out.length >= limit) break;
    out.push(...chunk.slice(0, limit - out.length));
  }
  return out;
}
