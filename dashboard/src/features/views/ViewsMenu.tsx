// The runs page's "Views" menu: save the current view under a name, open a saved one
// (its state goes into the URL), update it with the current state, rename, delete, and
// copy its link. Viewers only open and copy. A bare link (`?view=<id>`) is filled here
// with the view's state, so it opens the same page in a fresh browser.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type SyntheticEvent } from "react";
import { createView, deleteView, getView, listViews, updateView, type SavedView } from "../../api/views";
import { showError, showToast } from "../../components/toastStore";
import { useOutsideClick } from "../../components/useOutsideClick";
import { navigate } from "../../router";
import {
  isBareViewLink,
  parseViewId,
  sameState,
  viewHref,
  viewLink,
  viewStateFromSearch,
} from "./viewState";

interface Props {
  experimentId: number;
  pathname: string;
  search: URLSearchParams;
  canEdit: boolean;
}

const viewsKey = (experimentId: number) => ["saved-views", experimentId] as const;

function useOpenLink(experimentId: number, pathname: string, search: URLSearchParams) {
  const viewId = parseViewId(search);
  const bare = isBareViewLink(search);
  const linked = useQuery({
    queryKey: ["saved-view", experimentId, viewId],
    queryFn: ({ signal }) => getView(experimentId, viewId ?? 0, signal),
    enabled: bare && viewId !== null,
    retry: false,
  });
  const target = bare && linked.data ? viewHref(pathname, linked.data.id, linked.data.state) : null;
  useEffect(() => {
    if (target) navigate(target, { replace: true });
  }, [target]);
  return bare ? linked.error : null;
}

function ViewRow(props: {
  view: SavedView;
  active: boolean;
  canEdit: boolean;
  onOpen: () => void;
  onUpdate: () => void;
  onRename: (name: string) => void;
  onDelete: () => void;
  link: string;
}) {
  const { view, canEdit } = props;
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(view.name);
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    if (name.trim() && name !== view.name) props.onRename(name.trim());
    setRenaming(false);
  };
  return (
    <li className="saved-view" data-view-id={view.id} aria-current={props.active ? "true" : undefined}>
      {renaming ? (
        <form onSubmit={submit} className="saved-view-line">
          <input
            aria-label={`New name for ${view.name}`}
            value={name}
            maxLength={200}
            autoFocus
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit">Save name</button>
        </form>
      ) : (
        <div className="saved-view-line">
          <button type="button" className="link-button" onClick={props.onOpen} title={`Open the view ${view.name}`}>
            {props.active ? "● " : ""}
            {view.name}
          </button>
          {canEdit ? (
            <>
              <button type="button" onClick={props.onUpdate} title="Save the current filter, sort, columns and charts into this view">
                Update
              </button>
              <button type="button" onClick={() => setRenaming(true)}>
                Rename
              </button>
              <button type="button" className="danger" onClick={props.onDelete}>
                Delete
              </button>
            </>
          ) : null}
        </div>
      )}
      <input
        className="saved-view-link"
        readOnly
        aria-label={`Link to ${view.name}`}
        value={props.link}
        onFocus={(e) => e.currentTarget.select()}
      />
    </li>
  );
}

export function ViewsMenu({ experimentId, pathname, search, canEdit }: Props) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [newName, setNewName] = useState("");
  const ref = useRef<HTMLDivElement>(null);
  const linkError = useOpenLink(experimentId, pathname, search);
  const views = useQuery({
    queryKey: viewsKey(experimentId),
    queryFn: ({ signal }) => listViews(experimentId, signal),
    staleTime: 30_000,
  });

  useOutsideClick(ref, open, setOpen);

  const refresh = () => queryClient.invalidateQueries({ queryKey: viewsKey(experimentId) });
  const save = useMutation({
    mutationFn: (name: string) => createView(experimentId, name, viewStateFromSearch(search)),
    onSuccess: (view) => {
      setNewName("");
      void refresh();
      navigate(viewHref(pathname, view.id, view.state), { replace: true });
      showToast(`Saved the view ${view.name}`);
    },
    onError: (e) => showError(e, "Saving the view"),
  });
  const change = useMutation({
    mutationFn: (args: { view: SavedView; name?: string; current?: boolean }) =>
      updateView(experimentId, args.view.id, {
        ...(args.name !== undefined ? { name: args.name } : {}),
        ...(args.current ? { state: viewStateFromSearch(search) } : {}),
      }),
    onSuccess: (view, args) => {
      void refresh();
      // The page now shows what the view holds: mark it as the open one.
      if (args.current) navigate(viewHref(pathname, view.id, view.state), { replace: true });
      showToast(`Updated the view ${view.name}`);
    },
    onError: (e) => showError(e, "Updating the view"),
  });
  const remove = useMutation({
    mutationFn: (view: SavedView) => deleteView(experimentId, view.id).then(() => view),
    onSuccess: (view) => {
      void refresh();
      if (parseViewId(search) === view.id) {
        const rest = new URLSearchParams(search);
        rest.delete("view");
        const query = rest.toString();
        navigate(pathname + (query ? `?${query}` : ""), { replace: true });
      }
      showToast(`Deleted the view ${view.name}`);
    },
    onError: (e) => showError(e, "Deleting the view"),
  });

  const activeId = parseViewId(search);
  const list = views.data ?? [];
  const active = list.find((v) => v.id === activeId) ?? null;
  const modified = active !== null && !isBareViewLink(search) && !sameState(search, active.state);
  const origin = typeof window === "undefined" ? "" : window.location.origin;

  return (
    <div className="popover" ref={ref}>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="views-button">
        {active ? `View: ${active.name}${modified ? " (modified)" : ""}` : "Views"}
        {list.length ? ` · ${list.length}` : ""}
      </button>
      {linkError ? (
        <span className="error" role="alert">
          Saved view not found: {linkError.message}
        </span>
      ) : null}
      {open ? (
        <div className="popover-panel views-panel" role="dialog" aria-label="Saved views">
          {canEdit ? (
            <form
              className="saved-view-line"
              onSubmit={(e) => {
                e.preventDefault();
                if (newName.trim()) save.mutate(newName.trim());
              }}
            >
              <input
                aria-label="New view name"
                placeholder="Save current view as…"
                value={newName}
                maxLength={200}
                onChange={(e) => setNewName(e.target.value)}
              />
              <button type="submit" className="primary" disabled={!newName.trim() || save.isPending}>
                Save
              </button>
            </form>
          ) : (
            <p className="muted">Only editors save views.</p>
          )}
          {views.error ? <p className="error">{views.error.message}</p> : null}
          {views.isPending ? <p className="muted">Loading views…</p> : null}
          {views.data && list.length === 0 ? <p className="muted">No saved views yet.</p> : null}
          <ul className="saved-views">
            {list.map((view) => (
              <ViewRow
                key={view.id}
                view={view}
                active={view.id === activeId}
                canEdit={canEdit}
                link={viewLink(origin, experimentId, view.id)}
                onOpen={() => {
                  navigate(viewHref(pathname, view.id, view.state));
                  setOpen(false);
                }}
                onUpdate={() => change.mutate({ view, current: true })}
                onRename={(name) => change.mutate({ view, name })}
                onDelete={() => remove.mutate(view)}
              />
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
