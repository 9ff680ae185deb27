// An experiment's runs: server-side filter and sort, cursor paging as the user
// scrolls, virtualised rows, nested runs as a tree, chosen columns, selection for
// compare and bulk delete/restore, grouping (header rows here, bands in Compare), saved
// views — all in the URL. The experiment can be renamed, deleted and restored here.
import {
  keepPreviousData,
  useInfiniteQuery,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from "@tanstack/react-query";
import { useTable, type Header } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  memo,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type ReactNode,
  type RefObject,
} from "react";
import { ApiError, getExperiment, getExperimentStats, getRunGroups, searchRuns } from "../../api/client";
import type { LiveEvent, Run, RunPage } from "../../api/types";
import {
  applyPointsToRun,
  prependRun,
  queryKeys,
  updateRunsInPages,
} from "../../live/cacheUpdates";
import { useLiveEvents, usePollInterval } from "../../live/LiveProvider";
import { seriesColor } from "../../charts/colors";
import { EditableTitle } from "../../components/EditableTitle";
import { Link, navigate, useLocation } from "../../router";
import {
  columnId,
  nextSort,
  orderByClause,
  parseColumnId,
  searchIdentifier,
  type ColumnRef,
} from "../../state/identifiers";
import { parseRunsView, queryString, serializeRunsView, type RunsView } from "../../state/urlState";
import { ColumnPicker } from "./ColumnPicker";
import {
  exportColumns,
  parseColumnLayout,
  pinOffsets,
  writeColumnLayout,
  type ColumnLayout,
} from "./columnState";
import { downloadRunsCsv } from "./exportRuns";
import {
  availableKeys,
  buildColumns,
  type AvailableKeys,
  columnInfo,
  defaultColumns,
  features,
  SELECT_COLUMN,
} from "./columns";
import {
  useDeleteExperiment,
  useRenameExperiment,
  useRestoreExperiment,
} from "../editing/experimentEdits";
import { useCanEdit } from "../editing/permissions";
import { useDeleteRuns, useRestoreRuns } from "../editing/runEdits";
import {
  parseRunsCharts,
  parseViewId,
  VIEW_PARAM,
  writeRunsCharts,
  type RunsCharts,
} from "../views/viewState";
import { resolvePanels } from "../../state/panels";
import { PanelChooser } from "../panels/PanelChooser";
import { ViewsMenu } from "../views/ViewsMenu";
import { FilterBox } from "./FilterBox";
import { indexGroups, withGroupHeaders, type GroupHeader, type TableItem } from "./groupRows";
import { RunTreeContext, type RunTree } from "./RunNameCell";
import { firstRuns, loadedRuns, runAt } from "./loadedRuns";
import { inSlotOrder, RowSlots, useBlurOnReassign } from "./rowPool";
import { buildRunTree } from "./runTree";

export const PAGE_SIZE = 500;
const ROW_HEIGHT = 34;
const EMPTY: Run[] = [];
const NO_PAGES: RunPage[] = [];
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

/** Columns runs can be grouped by: params and tags, and the current group even before
 * the runs that have it are loaded. */
function groupChoices(keys: AvailableKeys, group: ColumnRef | null): string[] {
  const ids = [...keys.params.map((k) => `params.${k}`), ...keys.tags.map((k) => `tags.${k}`)];
  if (group && !ids.includes(columnId(group))) ids.unshift(columnId(group));
  return ids;
}

/** The list with `id` added, or removed if it was there. */
function toggled(list: readonly string[], id: string): string[] {
  return list.includes(id) ? list.filter((s) => s !== id) : [...list, id];
}

type RunTableItem = TableItem<Run>;

/** A column as the body rows draw it: worked out once per column set, not per row. */
interface BodyColumn {
  id: string;
  className: string;
  style: CSSProperties;
  runCell: (run: Run) => ReactNode;
}

/** The body rows' columns, from the table's headers (in their order) and the pinned
 * columns' offsets. */
function bodyColumns(headers: readonly Header<typeof features, Run>[], pinned: Map<string, number>): BodyColumn[] {
  return headers.map((h) => ({
    id: h.id,
    className: h.id === SELECT_COLUMN ? "cell select" : h.id.startsWith("metrics.") ? "cell num" : "cell",
    style: cellStyle(h.getSize(), pinned.get(h.id)),
    runCell: h.column.columnDef.meta?.runCell ?? (() => null),
  }));
}

interface RunRowProps {
  /** Its aria-rowindex: its row number in the table, the header being 1. */
  rowIndex: number;
  run: Run;
  start: number;
  width: number;
  selected: boolean;
  /** A new list when the columns or their widths change, so rows re-render with them. */
  columns: readonly BodyColumn[];
  onToggle: (id: string) => void;
}

/** A pinned column's cell stays at its offset while the table scrolls sideways. */
function cellStyle(width: number, left: number | undefined): CSSProperties {
  if (left === undefined) return { width };
  return { width, position: "sticky", left, zIndex: 1, background: "var(--bg)" };
}

/** One virtual row; memoised, so scrolling renders only the rows that come into view.
 * Its cells are keyed by column, not by run: a row element given another run (see
 * RowSlots) keeps its cells' DOM and only their text changes. It draws the run with each
 * column's `runCell`, without TanStack rows or cells (see RunColumnMeta). */
const RunRow = memo(function RunRow({ rowIndex, run, start, width, selected, columns, onToggle }: RunRowProps) {
  const element = useRef<HTMLDivElement>(null);
  useBlurOnReassign(element, run.id);
  return (
    <div
      ref={element}
      role="row"
      aria-rowindex={rowIndex}
      data-run-id={run.id}
      className={`grid-row body${selected ? " selected" : ""}`}
      style={{ transform: `translateY(${start}px)`, width }}
    >
      {columns.map((column) => (
        <div key={column.id} role="cell" className={column.className} style={column.style}>
          {column.id === SELECT_COLUMN ? (
            <input
              type="checkbox"
              aria-label={`Select run ${run.name || run.id}`}
              checked={selected}
              onChange={() => onToggle(run.id)}
            />
          ) : (
            column.runCell(run)
          )}
        </div>
      ))}
    </div>
  );
});

interface GroupRowProps {
  /** Its aria-rowindex, as RunRow's. */
  rowIndex: number;
  group: GroupHeader;
  /** The grouping column ("params.optimizer"). */
  label: string;
  start: number;
  width: number;
  onToggle: (name: string) => void;
}

/** A group's header: its value, its run count (of the whole filter) and colour; a click
 * collapses or expands the group's loaded rows. */
const GroupRow = memo(function GroupRow({ rowIndex, group, label, start, width, onToggle }: GroupRowProps) {
  const runs = group.count === null ? "" : ` (${group.count.toLocaleString()} ${group.count === 1 ? "run" : "runs"})`;
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      data-group={group.name}
      className="grid-row body group-row"
      style={{ transform: `translateY(${start}px)`, width }}
    >
      <div role="cell" className="cell" style={{ position: "sticky", left: 0 }}>
        <button
          type="button"
          aria-expanded={!group.collapsed}
          aria-label={`${group.collapsed ? "Expand" : "Collapse"} group ${label}=${group.name}`}
          onClick={() => onToggle(group.name)}
        >
          {group.collapsed ? "▸" : "▾"}
        </button>{" "}
        <span className="swatch" style={{ background: seriesColor(group.colour) }} />
        <strong>
          {label}={group.name}
        </strong>
        <span className="muted" data-testid="group-count">
          {runs}
        </span>
      </div>
    </div>
  );
});

interface VirtualRowsProps {
  /** How many rows (runs and group headers) the table has, and the one at an index. */
  count: number;
  itemAt: (index: number) => RunTableItem | undefined;
  /** The grouping column, when the table is grouped. */
  groupLabel: string;
  onToggleGroup: (name: string) => void;
  scrollRef: RefObject<HTMLDivElement | null>;
  width: number;
  selected: Set<string>;
  columns: readonly BodyColumn[];
  onToggle: (id: string) => void;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/**
 * The rows in view. Scrolling re-renders this component only (not the toolbar, header
 * or page), and memoised rows that stay in view are skipped.
 */
function VirtualRows(props: VirtualRowsProps) {
  const { count, itemAt, scrollRef, width, selected, hasNextPage, isFetchingNextPage, fetchNextPage } = props;
  // The virtualizer is read during render on purpose; this component is not compiled.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 5,
    // Let React batch scroll updates instead of rendering synchronously in the handler.
    useFlushSync: false,
  });
  const visible = virtualizer.getVirtualItems();
  const [pool] = useState(() => new RowSlots());
  const slots = pool.assign(visible.map((item) => item.index));
  const lastIndex = visible.length ? (visible[visible.length - 1]?.index ?? 0) : 0;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= count - 150) {
      void fetchNextPage();
    }
  }, [lastIndex, count, hasNextPage, isFetchingNextPage, fetchNextPage]);
  const rows = visible.map((item, place) => {
    const entry = itemAt(item.index);
    if (!entry) return null;
    // Row 1 is the header; the rows' DOM order is not their order on screen while scrolling.
    const rowIndex = item.index + 2;
    if (entry.kind === "group") {
      return (
        <GroupRow
          key={`slot:${slots[place]}`}
          rowIndex={rowIndex}
          group={entry}
          label={props.groupLabel}
          start={item.start}
          width={width}
          onToggle={props.onToggleGroup}
        />
      );
    }
    return (
      <RunRow
        key={`slot:${slots[place]}`}
        rowIndex={rowIndex}
        run={entry.row}
        start={item.start}
        width={width}
        selected={selected.has(entry.row.id)}
        columns={props.columns}
        onToggle={props.onToggle}
      />
    );
  });
  // While scrolling, each row element keeps its place in the DOM (see inSlotOrder): a
  // row that moved among its siblings would have its layout rebuilt. At rest the rows are
  // in screen order again, for keyboard focus order and screen readers.
  return (
    <div style={{ height: virtualizer.getTotalSize(), width, position: "relative" }}>
      {virtualizer.isScrolling ? inSlotOrder(rows, slots) : rows}
    </div>
  );
}

export default function RunsPage({ experimentId }: { experimentId: number }) {
  const location = useLocation();
  const view = useMemo(() => parseRunsView(location.search), [location.search]);
  const layout = useMemo(() => parseColumnLayout(location.search), [location.search]);
  const charts = useMemo(() => parseRunsCharts(location.search), [location.search]);
  const viewId = parseViewId(location.search);
  const layoutRef = useRef(layout);
  // Grouping, chart settings and the open saved view ride along with every change.
  const extrasRef = useRef({ charts, viewId });
  useEffect(() => {
    layoutRef.current = layout;
    extrasRef.current = { charts, viewId };
  });
  const go = useCallback(
    (next: RunsView, nextLayout: ColumnLayout, replace: boolean, nextCharts?: RunsCharts) => {
      const { charts: current, viewId: openView } = extrasRef.current;
      const params = writeRunsCharts(
        writeColumnLayout(serializeRunsView(next), nextLayout),
        nextCharts ?? current,
      );
      if (openView !== null) params.set(VIEW_PARAM, String(openView));
      navigate(location.pathname + queryString(params), { replace });
    },
    [location.pathname],
  );
  const setView = useCallback(
    (next: RunsView, replace = false) => go(next, layoutRef.current, replace),
    [go],
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

  const groupBy = charts.group;
  // Grouped: by the group's column first (runs without it last), then the user's sort
  // within each group, so every group is one stretch of rows across pages.
  const userOrder = orderByClause(view.sort);
  const orderBy = groupBy ? [`${searchIdentifier(groupBy)} ASC`, ...(userOrder ?? [])] : userOrder;
  const orderKey = orderBy?.join("\u0000") ?? "";
  const stage = view.deleted ? "deleted" : "active";
  const queryKey = useMemo(() => {
    const key = queryKeys.runs(experimentId, view.filter, orderKey ? orderKey.split("\u0000") : undefined);
    // Deleted runs are a separate list under the same prefix (live updates reach both).
    return stage === "deleted" ? [...key, stage] : key;
  }, [experimentId, view.filter, orderKey, stage]);
  const runs = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam, signal }) =>
      searchRuns(
        {
          experiment_ids: [experimentId],
          ...(view.filter ? { filter: view.filter } : {}),
          ...(orderBy ? { order_by: orderBy } : {}),
          lifecycle_stage: stage,
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
  useLiveRuns(experimentId, queryKey, !view.filter && !orderBy);
  const groupId = groupBy ? columnId(groupBy) : "";
  const groupAnswer = useQuery({
    queryKey: ["run-groups", experimentId, groupId, view.filter, stage],
    queryFn: ({ signal }) =>
      getRunGroups(
        experimentId,
        { by: groupId, ...(view.filter ? { filter: view.filter } : {}), lifecycle: stage },
        signal,
      ),
    enabled: groupBy !== null,
    staleTime: 30_000,
    refetchInterval: 30_000,
  });
  const groupIndex = useMemo(() => indexGroups(groupAnswer.data), [groupAnswer.data]);
  // Collapsed groups, by name, for the current grouping column only.
  const [collapsed, setCollapsed] = useState<{ by: string; names: Set<string> }>({ by: "", names: new Set() });
  const collapsedNames = useMemo(
    () => (collapsed.by === groupId ? collapsed.names : new Set<string>()),
    [collapsed, groupId],
  );
  const toggleGroup = useCallback(
    (name: string) =>
      setCollapsed((prev) => {
        const names = new Set(prev.by === groupId ? prev.names : []);
        if (names.has(name)) names.delete(name);
        else names.add(name);
        return { by: groupId, names };
      }),
    [groupId],
  );

  const pages = runs.data?.pages ?? NO_PAGES;
  const listed = useMemo(() => loadedRuns(pages, stage), [pages, stage]);
  const expanded = useMemo(() => new Set(view.expanded), [view.expanded]);
  // Nested runs and group headers need every loaded run in order, a pass over all of
  // them at each page; a flat, ungrouped table reads only the rows in view.
  const needsTree = listed.nested || groupBy !== null;
  const tree = useMemo(
    () => (needsTree ? buildRunTree(firstRuns(listed), expanded) : null),
    [needsTree, listed, expanded],
  );
  const keys = useMemo(() => availableKeys(firstRuns(listed, 2000)), [listed]);
  const chosen = view.columns ?? defaultColumns(keys);
  const chosenKey = [
    ...chosen.map(columnId),
    "hide",
    ...layout.hidden,
    "pin",
    ...layout.pinned,
  ].join("\u0000");
  const columns = useMemo(
    () => buildColumns(chosen, layout),
    // chosenKey identifies `chosen`
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [chosenKey],
  );

  const table = useTable({
    features,
    columns,
    // No row model: the body rows draw the runs in view straight (see RunRow).
    data: EMPTY,
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
      setView({ ...current, selected: toggled(current.selected, id) }, true);
    },
    [setView],
  );
  const toggleBranch = useCallback(
    (id: string) => {
      const current = viewRef.current;
      setView({ ...current, expanded: toggled(current.expanded, id) }, true);
    },
    [setView],
  );
  const treeContext = useMemo(
    (): RunTree => ({ rows: new Map(tree?.map((t) => [t.run.id, t])), toggle: toggleBranch }),
    [tree, toggleBranch],
  );
  const canEdit = useCanEdit(experiment.data?.project_id);
  const deleteRuns = useDeleteRuns();
  const restoreRuns = useRestoreRuns();
  const renameExperiment = useRenameExperiment();
  const deleteExperiment = useDeleteExperiment();
  const restoreExperiment = useRestoreExperiment();
  const experimentDeleted = experiment.data?.lifecycle_stage === "deleted";
  const changeSelected = (action: typeof deleteRuns | typeof restoreRuns) => {
    const ids = view.selected;
    action.mutate(
      { runIds: ids },
      {
        // Those that moved to the other list are no longer selectable here.
        onSuccess: (done) =>
          setView({ ...viewRef.current, selected: viewRef.current.selected.filter((s) => !done.includes(s)) }, true),
      },
    );
  };

  const filterError =
    runs.error instanceof ApiError && runs.error.status === 400 ? runs.error.message : null;
  const otherError = runs.error && !filterError ? runs.error.message : null;

  const headers = table.getHeaderGroups()[0]?.headers ?? [];
  const totalWidth = headers.reduce((w, h) => w + h.getSize(), 0);
  const pinnedKey = headers.map((h) => `${h.id}:${h.getSize()}`).join("\u0000") + chosenKey;
  const pinned = useMemo(
    () => {
      const [select, ...rest] = headers;
      const widths = rest.map((h) => ({ id: h.id, width: h.getSize() }));
      const offsets = pinOffsets(widths, layout.pinned, select?.getSize() ?? 0);
      // The selection box stays at the left edge, before the pinned columns.
      if (offsets.size > 0) offsets.set(SELECT_COLUMN, 0);
      return offsets;
    },
    // pinnedKey identifies the headers' ids and widths
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pinnedKey],
  );
  const columnsInBody = useMemo(
    () => bodyColumns(headers, pinned),
    // pinnedKey identifies the headers' ids and widths (and `pinned` follows it)
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pinnedKey],
  );
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const exportView = () => {
    setExporting(true);
    setExportError(null);
    downloadRunsCsv({
      experimentId,
      filter: view.filter,
      orderBy,
      lifecycleStage: stage,
      columns: exportColumns(headers.slice(1).map((h) => h.id)),
    })
      .catch((e: unknown) => setExportError(e instanceof Error ? e.message : String(e)))
      .finally(() => setExporting(false));
  };
  const items = useMemo(
    (): RunTableItem[] | null =>
      groupBy && tree
        ? withGroupHeaders(tree, tree.map((t) => t.run), groupBy, groupIndex, collapsedNames)
        : null,
    [groupBy, tree, groupIndex, collapsedNames],
  );
  const count = items?.length ?? tree?.length ?? listed.count;
  const itemAt = useCallback(
    (index: number): RunTableItem | undefined => {
      if (items) return items[index];
      const run = tree ? tree[index]?.run : runAt(listed, index);
      return run && { kind: "run", row: run };
    },
    [items, tree, listed],
  );

  return (
    <main className="fill" data-testid="runs-page">
      <div className="crumbs">
        <Link to="/">Experiments</Link>/
      </div>
      <EditableTitle
        value={experiment.data?.name ?? `Experiment ${experimentId}`}
        what="experiment"
        canEdit={canEdit && experiment.data !== undefined && !experimentDeleted}
        maxLength={500}
        onSave={(name) => renameExperiment.mutate({ id: experimentId, name })}
      >
        {experimentDeleted ? <span className="status deleted">DELETED</span> : null}
        {stats.data ? (
          <span className="muted" style={{ fontSize: "0.9rem", fontWeight: 400 }} data-testid="run-stats">
            {stats.data.total_runs.toLocaleString()} runs
            {Object.entries(stats.data.runs_by_status)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => ` · ${n.toLocaleString()} ${s.toLowerCase()}`)
              .join("")}
          </span>
        ) : null}
      </EditableTitle>
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
          layout={layout}
          onLayoutChange={(next) => go(view, next, false)}
        />
        <label className="check" title="The table groups the runs by this column; Compare draws each group as a mean with a band">
          Group by
          <select
            aria-label="Group by"
            value={charts.group ? columnId(charts.group) : ""}
            onChange={(e) => go(view, layout, false, { ...charts, group: parseColumnId(e.target.value) })}
          >
            <option value="">none</option>
            {groupChoices(keys, charts.group).map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <PanelChooser
          keys={keys.metrics}
          panels={resolvePanels(charts.panels, keys.metrics)}
          isDefault={charts.panels === null}
          onChange={(panels) => go(view, layout, false, { ...charts, panels })}
        />
        <ViewsMenu
          experimentId={experimentId}
          pathname={location.pathname}
          search={location.search}
          canEdit={canEdit}
        />
        <button
          type="button"
          disabled={exporting}
          title="Every run matching the filter, with the visible columns, in the table's order"
          onClick={exportView}
        >
          {exporting ? "Exporting…" : "Export CSV"}
        </button>
        <button
          type="button"
          className="primary"
          disabled={view.selected.length === 0}
          onClick={() =>
            navigate("/compare" + queryString(writeRunsCharts(new URLSearchParams({ runs: view.selected.join(",") }), charts)))
          }
        >
          Compare ({view.selected.length})
        </button>
        {canEdit && !view.deleted ? (
          <button
            type="button"
            className="danger"
            disabled={view.selected.length === 0 || deleteRuns.isPending}
            onClick={() => changeSelected(deleteRuns)}
          >
            Delete ({view.selected.length})
          </button>
        ) : null}
        {canEdit && view.deleted ? (
          <button
            type="button"
            disabled={view.selected.length === 0 || restoreRuns.isPending}
            onClick={() => changeSelected(restoreRuns)}
          >
            Restore ({view.selected.length})
          </button>
        ) : null}
        <label className="check">
          <input
            type="checkbox"
            checked={view.deleted}
            onChange={() => setView({ ...view, deleted: !view.deleted, selected: [] })}
          />
          deleted runs
        </label>
        {canEdit && experiment.data ? (
          experimentDeleted ? (
            <button type="button" onClick={() => restoreExperiment.mutate({ id: experimentId })}>
              Restore experiment
            </button>
          ) : (
            <button type="button" className="danger" onClick={() => deleteExperiment.mutate({ id: experimentId })}>
              Delete experiment
            </button>
          )
        ) : null}
      </div>
      {otherError ? <div className="error-banner">{otherError}</div> : null}
      {exportError ? <div className="error-banner">Export failed: {exportError}</div> : null}
      <RunTreeContext.Provider value={treeContext}>
      <div className="grid" role="table" aria-label="Runs" aria-rowcount={count + 1}>
        <div className="grid-scroll" ref={scrollRef} data-testid="runs-scroll">
          <div className="grid-row grid-head" role="row" aria-rowindex={1} style={{ width: totalWidth }}>
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
                  <div
                    key={h.id}
                    className="cell head-cell select"
                    style={cellStyle(h.getSize(), pinned.get(SELECT_COLUMN))}
                    role="columnheader"
                  >
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
                  data-pinned={pinned.has(h.id) ? "true" : undefined}
                  className={`cell head-cell${info.sort ? " sortable" : ""}${info.numeric ? " num" : ""}`}
                  style={{ ...cellStyle(h.getSize(), pinned.get(h.id)), ...(pinned.has(h.id) ? { background: "var(--bg-soft)" } : {}) }}
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
            count={count}
            itemAt={itemAt}
            groupLabel={groupId}
            onToggleGroup={toggleGroup}
            scrollRef={scrollRef}
            width={totalWidth}
            selected={selected}
            columns={columnsInBody}
            onToggle={toggleRow}
            hasNextPage={hasNextPage}
            isFetchingNextPage={isFetchingNextPage}
            fetchNextPage={fetchNextPage}
          />
        </div>
        <div className="grid-footer" data-testid="runs-footer">
          {runs.isPending
            ? "Loading runs…"
            : `${listed.count.toLocaleString()} ${view.deleted ? "deleted " : ""}runs loaded${
                hasNextPage ? " — scroll for more" : ""
              }${runs.isFetching ? " · updating…" : ""}`}
        </div>
      </div>
      </RunTreeContext.Provider>
    </main>
  );
}
