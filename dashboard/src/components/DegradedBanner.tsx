// A banner while the server answers from its cache (the database is unreachable): the
// data on screen may be out of date and changes cannot be saved.
import { useEffect, useState, useSyncExternalStore } from "react";
import { DEGRADED_SHOW_MS, degradedState, subscribeDegraded } from "../api/degraded";
import { formatDuration } from "./format";

export function DegradedBanner() {
  const seen = useSyncExternalStore(subscribeDegraded, () => degradedState()?.seenAt ?? null);
  // Re-render when the banner's time is up, even if no answer comes meanwhile.
  const [, setTick] = useState(0);
  useEffect(() => {
    if (seen === null) return;
    const timer = setTimeout(() => setTick((t) => t + 1), DEGRADED_SHOW_MS + 50);
    return () => clearTimeout(timer);
  }, [seen]);
  const state = degradedState();
  if (state === null) return null;
  return (
    <div className="degraded-banner" role="status" data-testid="degraded-banner">
      The database is unreachable: showing data as it was {formatDuration(0, state.ageS * 1000)}{" "}
      ago.
      Changes cannot be saved until it is back.
    </div>
  );
}
