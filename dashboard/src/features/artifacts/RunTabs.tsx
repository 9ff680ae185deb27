// The run page's tab bar and the Artifacts and Media panels, loaded only when opened.
import { lazy, Suspense } from "react";
import { Link, useLocation } from "../../router";
import { RUN_TABS, tabSearch, type RunTab } from "./tabs";
import "./artifacts.css";

const ArtifactsTab = lazy(() => import("./ArtifactsTab"));
const MediaTab = lazy(() => import("./MediaTab"));

const LABELS: Record<RunTab, string> = { overview: "Overview", artifacts: "Artifacts", media: "Media" };

export function RunTabBar({ tab }: { tab: RunTab }) {
  const location = useLocation();
  return (
    <nav className="run-tabs" role="tablist" aria-label="run">
      {RUN_TABS.map((name) => (
        <Link
          key={name}
          to={location.pathname + tabSearch(location.search, name)}
          role="tab"
          aria-selected={name === tab}
          className={name === tab ? "active" : undefined}
          data-testid={`tab-${name}`}
        >
          {LABELS[name]}
        </Link>
      ))}
    </nav>
  );
}

export function RunTabPanel({ runId, tab, running }: { runId: string; tab: RunTab; running: boolean }) {
  return (
    <Suspense fallback={<p className="muted">loading…</p>}>
      {tab === "artifacts" ? <ArtifactsTab runId={runId} running={running} /> : null}
      {tab === "media" ? <MediaTab runId={runId} running={running} /> : null}
    </Suspense>
  );
}
