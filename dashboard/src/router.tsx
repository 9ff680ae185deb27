// A few-dozen-line history router: the app has six routes and keeps its view
// state in the query string, which a full router library would not simplify.
import { useMemo, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";
import { translateMlflowHash } from "./mlflowLinks";

const listeners = new Set<() => void>();

function emit(): void {
  for (const l of listeners) l();
}

/** Replaces an MLflow link's hash route (`/#/experiments/3/runs/<id>`) by our page. */
export function followMlflowLink(): void {
  const to = translateMlflowHash(window.location.hash);
  if (to !== null) window.history.replaceState(null, "", to);
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", emit);
  // An MLflow link pasted into an open dashboard changes only the hash.
  window.addEventListener("hashchange", () => {
    followMlflowLink();
    emit();
  });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

export interface Location {
  pathname: string;
  search: URLSearchParams;
}

export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot, snapshot);
  return useMemo(() => {
    const url = new URL(href, "http://x");
    return { pathname: url.pathname, search: url.searchParams };
  }, [href]);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  emit();
}

export type Route =
  | { name: "experiments" }
  | { name: "experiment"; experimentId: number }
  | { name: "run"; runId: string }
  | { name: "compare" }
  | { name: "notifications" }
  | { name: "models" }
  | { name: "not-found" };

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/experiments") return { name: "experiments" };
  let m = /^\/experiments\/(\d+)$/.exec(path);
  if (m) return { name: "experiment", experimentId: Number(m[1]) };
  m = /^\/runs\/([^/]+)$/.exec(path);
  if (m?.[1]) return { name: "run", runId: decodeURIComponent(m[1]) };
  if (path === "/compare") return { name: "compare" };
  if (path === "/notifications") return { name: "notifications" };
  if (path === "/models") return { name: "models" };
  return { name: "not-found" };
}

export function Link(
  props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; replace?: boolean },
) {
  const { to, replace, onClick, ...rest } = props;
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
      return;
    }
    e.preventDefault();
    navigate(to, replace ? { replace } : {});
  };
  return <a href={to} onClick={handle} {...rest} />;
}
