// Imported first by main.tsx, so it runs as soon as the entry script does: the first
// page's API requests start here instead of at the first render, after React and the
// app's modules have been evaluated (about 100-150 ms later on a loaded machine).
import { startRouteRequests } from "./api/queries";
import { matchRoute } from "./router";

startRouteRequests(matchRoute(window.location.pathname), new URLSearchParams(window.location.search));
