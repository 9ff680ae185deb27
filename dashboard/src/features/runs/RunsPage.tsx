// An experiment's runs: server-side filter and sort, cursor paging as the user
// scrolls, virtualised rows, chosen columns, selection for compare — all in the URL.
import {
  keepPreviousData,
  useInfiniteQuery,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from "@tanstack/react-query";
import { useTable, type Row } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  memo,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  type ReactNode,
  type RefObject,
} from "react";
import { ApiError, getExperiment, getExperimentStats, searchRuns } from "../../api/client";
import type { LiveEvent, Run, RunPage } from "../../api/types";
import {
  applyPointsToRun,
  prependRun,
  queryKeys,
  updateRunsInPages,
} from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { Link, navigate, useLocation } from "../../router";
import { columnId, nextSort, orderByClause, parseColumnId } from "../../state/identifiers";
import { parseRunsView, queryString, serializeRunsView, type RunsView } from "../../state/urlState";
import { ColumnPicker } from "./ColumnPicker";
import {
  availableKeys,
  buildColumns,
  columnInfo,
  defaultColumns,
  features,
  SELECT_COLUMN,
} from "./columns";
import { FilterBox } from "./FilterBox";

export const PAGE_SIZE = 500;
const ROW_HEIGHT = 34;
const EMPTY: Run[] = [];
/** Live events are applied in batches so a burst re-renders the table once. */
const FLUSH_MS = 250;

function useLiveRuns(
  experimentId: number,
  queryKey: readonly unknown[],
  canPrepend: boolean,
): void {
  const queryClient = useQueryClient();
  const pending = useRef<LiveEvent[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const flush = useCallback(() => {
    timer.current = null;
    const events = pending.current;
    pending.current = [];
    // With a filter or a custom order only the server knows where a new run goes.
    const refetch = !canPrepend && events.some((e) => e.event === "run_created");
    queryClient.setQueryData<InfiniteData<RunPage>>(queryKey, (old) => {
      if (!old) return old;
      let data = old;
      const replaced = new Map<string, Run>();
      const points = new Map<string, LiveEvent & { event: "metrics" }>();
      for (const e of events) {
        if (e.event === "metrics") {
          const prev = points.get(e.run_id);
          if (!prev) points.set(e.run_id, e);
          else {
            const merged = { ...prev.points };
            for (const [k, v] of Object.entries(e.points)) merged[k] = [...(merged[k] ?? []), ...v];
            points.set(e.run_id, { ...prev, points: merged });
          }
        } else if (e.event === "run_updated") {
          replaced.set(e.run.id, e.run);
        } else if (canPrepend) {
          data = prependRun(data, e.run);
        }
      }
      return updateRunsInPages(data, (run) => {
        let next = replaced.get(run.id) ?? run;
        const p = points.get(run.id);
        if (p) next = applyPointsToRun(next, p.points);
        return next;
      });
    });
    if (refetch) void queryClient.invalidateQueries({ queryKey });
  }, [queryClient, queryKey, canPrepend]);

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  useLiveEvents({ experiment_id: experimentId }, (event) => {
    pending.current.push(event);
    timer.current ??= setTimeout(flush, FLUSH_MS);
  });
}

type RunCell = ReturnType<Row<typeof features, Run>["getAllCells"]>[number];

interface RunRowProps {
  row: Row<typeof features, Run>;
  start: number;
  width: number;
  selected: boolean;
  /** Changes when the column set does, so rows re-render with the new cells. */
  columnsKey: string;
  onToggle: (id: string) => void;
  render: (cell: RunCell) => ReactNode;
}

/** One virtual row; memoised, so scrolling renders only the rows that come into view. */
const RunRow = memo(function RunRow({ row, start, width, selected, onToggle, render }: RunRowProps) {
  return (
    <div
      role="row"
      data-run-id={row.id}
      className={`grid-row body${selected ? " selected" : ""}`}
      style={{ transform: `translateY(${start}px)`, width }}
    >
      {row.getAllCells().map((cell) => {
        if (cell.column.id === SELECT_COLUMN) {
          return (
            <div key={cell.id} className="cell select" role="cell" style={{ width: cell.column.getSize() }}>
              <input
                type="checkbox"
                aria-label={`Select run ${row.original.name || row.id}`}
                checked={selected}
                onChange={() => onToggle(row.id)}
              />
            </div>
          );
        }
        const numeric = cell.column.id.startsWith("metrics.");
        return (
          <div
            key={cell.id}
            role="cell"
            className={`cell${numeric ? " num" : ""}`}
            style={{ width: cell.column.getSize() }}
          >
            {render(cell)}
          </div>
        );
      })}
    </div>
  );
});

interface VirtualRowsProps {
  rows: Row<typeof features, Run>[];
  scrollRef: RefObject<HTMLDivElement | null>;
  width: number;
  selected: Set<string>;
  columnsKey: string;
  onToggle: (id: string) => void;
  render: (cell: RunCell) => ReactNode;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/**
 * The rows in view. Scrolling re-renders this component only (not the toolbar, header
 * or page), and memoised rows that stay in view are skipped.
 */
function VirtualRows(props: VirtualRowsProps) {
  const { rows, scrollRef, width, selected, hasNextPage, isFetchingNextPage, fetchNextPage } = props;
  // The virtualizer is read during render on purpose; this component is not compiled.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 5,
    // Let React batch scroll updates instead of rendering synchronously in the handler.
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? (items[items.length - 1]?.index ?? 0) : 0;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= rows.length - 150) {
      void fetchNextPage();
    }
  }, [lastIndex, rows.length, hasNextPage, isFetchingNextPage, fetchNextPage]);
  return (
    <div style={{ height: virtualizer.getTotalSize(), width, position: "relative" }}>
      {items.map((item) => {
        const row = rows[item.index];
        if (!row) return null;
        return (
          <RunRow
            key={row.id}
            row={row}
            start={item.start}
            width={width}
            selected={selected.has(row.id)}
            columnsKey={props.columnsKey}
            onToggle={props.onToggle}
            render={props.render}
          />
        );
      })}
    </div>
  );
}

export default function RunsPage({ experimentId }: { experimentId: number }) {
  const location = useLocation();
  const view = useMemo(() => parseRunsView(location.search), [location.search]);
  const setView = useCallback(
    (next: RunsView, replace = false) => {
      navigate(location.pathname + queryString(serializeRunsView(next)), { replace });
    },
    [location.pathname],
  );
  const poll = usePollInterval();

  const experiment = useQuery({
    queryKey: ["experiment", experimentId],
    queryFn: ({ signal }) => getExperiment(experimentId, signal),
    staleTime: 300_000,
  });

  const stats = useQuery({
    queryKey: ["experiment-stats", experimentId],
    queryFn: ({ signal }) => getExperimentStats(experimentId, signal),
    staleTime: 30_000,
    refetchInterval: 30_000,
  });

  const orderBy = orderByClause(view.sort);
  const orderKey = orderBy?.join("\u0000") ?? "";
  const queryKey = useMemo(
    () => queryKeys.runs(experimentId, view.filter, orderKey ? orderKey.split("\u0000") : undefined),
    [experimentId, view.filter, orderKey],
  );
  const runs = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam, signal }) =>
      searchRuns(
        {
          experiment_ids: [experimentId],
          ...(view.filter ? { filter: view.filter } : {}),
          ...(orderBy ? { order_by: orderBy } : {}),
          limit: PAGE_SIZE,
          page_token: pageParam,
        },
        signal,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_page_token ?? undefined,
    placeholderData: keepPreviousData,
    // Polling re-reads every loaded page: only worth it while few are loaded.
    refetchInterval: (q) => (poll && (q.state.data?.pages.length ?? 0) <= 4 ? poll : false),
  });
  useLiveRuns(experimentId, queryKey, !view.filter && !view.sort);

  const rows = useMemo(() => runs.data?.pages.flatMap((p) => p.runs) ?? EMPTY, [runs.data]);
  const keys = useMemo(() => availableKeys(rows), [rows]);
  const chosen = view.columns ?? defaultColumns(keys);
  const chosenKey = chosen.map(columnId).join("\u0000");
  const columns = useMemo(
    () => buildColumns(chosen),
    // chosenKey identifies `chosen`
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [chosenKey],
  );

  const table = useTable({
    features,
    columns,
    data: rows,
    getRowId: (r) => r.id,
  });

  const scrollRef = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runs;

  const selected = useMemo(() => new Set(view.selected), [view.selected]);
  // Stable identity so memoised rows do not re-render when the view changes elsewhere.
  const viewRef = useRef(view);
  useEffect(() => {
    viewRef.current = view;
  });
  const toggleRow = useCallback(
    (id: string) => {
      const current = viewRef.current;
      const next = current.selected.includes(id)
        ? current.selected.filter((s) => s !== id)
        : [...current.selected, id];
      setView({ ...current, selected: next }, true);
    },
    [setView],
  );
  const renderCell = useCallback(
    (cell: RunCell) => <table.FlexRender cell={cell} />,
    // FlexRender is stable for the table's lifetime
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );

  const filterError =
    runs.error instanceof ApiError && runs.error.status === 400 ? runs.error.message : null;
  const otherError = runs.error && !filterError ? runs.error.message : null;

  const headers = table.getHeaderGroups()[0]?.headers ?? [];
  const totalWidth = headers.reduce((w, h) => w + h.getSize(), 0);
  const tableRows = table.getRowModel().rows;

  return (
    <main className="fill" data-testid="runs-page">
      <div className="crumbs">
        <Link to="/">Experiments</Link>/
      </div>
      <h1>
        {experiment.data?.name ?? `Experiment ${experimentId}`}{" "}
        {stats.data ? (
          <span className="muted" style={{ fontSize: "0.9rem", fontWeight: 400 }} data-testid="run-stats">
            {stats.data.total_runs.toLocaleString()} runs
            {Object.entries(stats.data.runs_by_status)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => ` · ${n.toLocaleString()} ${s.toLowerCase()}`)
              .join("")}
          </span>
        ) : null}
      </h1>
      <div className="toolbar">
        <FilterBox
          key={view.filter}
          value={view.filter}
          error={filterError}
          onApply={(filter) => setView({ ...view, filter })}
        />
        <ColumnPicker
          keys={keys}
          chosen={chosen}
          onChange={(cols) => setView({ ...view, columns: cols })}
        />
        <button
          type="button"
          className="primary"
          disabled={view.selected.length === 0}
          onClick={() => navigate(`/compare?runs=${view.selected.map(encodeURIComponent).join(",")}`)}
        >
          Compare ({view.selected.length})
        </button>
      </div>
      {otherError ? <div className="error-banner">{otherError}</div> : null}
      <div className="grid" role="table" aria-label="Runs">
        <div className="grid-scroll" ref={scrollRef} data-testid="runs-scroll">
          <div className="grid-row grid-head" role="row" style={{ width: totalWidth }}>
            {headers.map((h) => {
              const info = columnInfo(h.id, parseColumnId(h.id));
              const sorted =
                view.sort && info.sort && columnId(view.sort.column) === columnId(info.sort)
                  ? view.sort.desc
                    ? "descending"
                    : "ascending"
                  : "none";
              if (h.id === SELECT_COLUMN) {
                return (
                  <div key={h.id} className="cell head-cell select" style={{ width: h.getSize() }} role="columnheader">
                    <input
                      type="checkbox"
                      aria-label="Clear selection"
                      title="Clear selection"
                      checked={view.selected.length > 0}
                      disabled={view.selected.length === 0}
                      onChange={() => setView({ ...view, selected: [] }, true)}
                    />
                  </div>
                );
              }
              return (
                <div
                  key={h.id}
                  role="columnheader"
                  aria-sort={sorted}
                  data-column={h.id}
                  className={`cell head-cell${info.sort ? " sortable" : ""}${info.numeric ? " num" : ""}`}
                  style={{ width: h.getSize() }}
                  title={info.sort ? `${h.id} — click to sort` : h.id}
                  onClick={
                    info.sort
                      ? () => {
                          const ref = info.sort;
                          if (ref) setView({ ...view, sort: nextSort(view.sort, ref) });
                        }
                      : undefined
                  }
                >
                  <table.FlexRender header={h} />
                  {sorted === "ascending" ? " ▲" : sorted === "descending" ? " ▼" : ""}
                </div>
              );
            })}
          </div>
          <VirtualRows
            rows={tableRows}
            scrollRef={scrollRef}
            width={totalWidth}
            selected={selected}
            columnsKey={chosenKey}
            onToggle={toggleRow}
            render={renderCell}
            hasNextPage={hasNextPage}
            isFetchingNextPage={isFetchingNextPage}
            fetchNextPage={fetchNextPage}
          />
        </div>
        <div className="grid-footer" data-testid="runs-footer">
          {runs.isPending
            ? "Loading runs…"
            : `${rows.length.toLocaleString()} runs loaded${
                hasNextPage ? " — scroll for more" : ""
              }${runs.isFetching ? " · updating…" : ""}`}
        </div>
      </div>
    </main>
  );
}
