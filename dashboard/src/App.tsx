// Shell: query client, live socket, top bar and the lazily loaded pages.
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useState, type ReactNode } from "react";
import { ApiError } from "./api/client";
import { prefetchRoute } from "./api/queries";
import { LoginPage } from "./components/LoginGate";
import { DegradedBanner } from "./components/DegradedBanner";
import { Toasts } from "./components/Toasts";
import { LiveProvider, useLiveStatus } from "./live/LiveProvider";
import { defaultLiveUrl, LiveSocket } from "./live/socket";
import { Link, matchRoute, useLocation } from "./router";

const ExperimentsPage = lazy(() => import("./features/experiments/ExperimentsPage"));
const RunsPage = lazy(() => import("./features/runs/RunsPage"));
const RunPage = lazy(() => import("./features/run/RunPage"));
const ComparePage = lazy(() => import("./features/compare/ComparePage"));
const NotificationsPage = lazy(() => import("./features/notifications/NotificationsPage"));

function makeQueryClient(onUnauthenticated: () => void): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error) => {
        if (error instanceof ApiError && error.status === 401) onUnauthenticated();
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // A 4xx will not get better by asking again.
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      },
    },
  });
}

function LiveIndicator() {
  const status = useLiveStatus();
  const label =
    status === "open" ? "live" : status === "connecting" ? "connecting…" : "polling every 5 s";
  return (
    <span className="live" data-testid="live-status" data-status={status} title="Live updates">
      <span className={`dot ${status}`} />
      {label}
    </span>
  );
}

/** Where an MLflow model link lands: Trackboard has no model registry. */
function ModelsNotice() {
  return (
    <main data-testid="models-notice">
      <h1>Models live under runs</h1>
      <p>
        Trackboard has no model registry and no logged models: keep a model&apos;s files as
        artifacts of the run that trained it (<code>mlflow.log_artifacts</code>) and open that
        run.
      </p>
      <Link to="/">Back to experiments</Link>
    </main>
  );
}

function Page() {
  const location = useLocation();
  const route = matchRoute(location.pathname);
  let page: ReactNode;
  switch (route.name) {
    case "experiments":
      page = <ExperimentsPage />;
      break;
    case "experiment":
      page = <RunsPage experimentId={route.experimentId} />;
      break;
    case "run":
      page = <RunPage runId={route.runId} />;
      break;
    case "compare":
      page = <ComparePage />;
      break;
    case "notifications":
      page = <NotificationsPage />;
      break;
    case "models":
      page = <ModelsNotice />;
      break;
    default:
      page = (
        <main>
          <h1>Not found</h1>
          <Link to="/">Back to experiments</Link>
        </main>
      );
  }
  return <Suspense fallback={<main className="muted">Loading…</main>}>{page}</Suspense>;
}

export function App() {
  const [needsLogin, setNeedsLogin] = useState(false);
  const [queryClient] = useState(() => {
    const client = makeQueryClient(() => setNeedsLogin(true));
    prefetchRoute(client, matchRoute(window.location.pathname), new URLSearchParams(window.location.search));
    return client;
  });
  const [socket] = useState(() => new LiveSocket(defaultLiveUrl()));
  return (
    <QueryClientProvider client={queryClient}>
      <LiveProvider socket={socket}>
        <div className="app">
          <header className="topbar">
            <Link to="/" className="brand">
              <img src="/favicon.svg" alt="" />
              Trackboard
            </Link>
            <nav className="nav">
              <Link to="/notifications">Notifications</Link>
            </nav>
            <span className="spacer" />
            <LiveIndicator />
          </header>
          <DegradedBanner />
          {needsLogin ? <LoginPage onDone={() => setNeedsLogin(false)} /> : <Page />}
          <Toasts />
        </div>
      </LiveProvider>
    </QueryClientProvider>
  );
}
