// Whether the server is answering from its cache because the database is unreachable
// (`Trackboard-Degraded: true`, with the data's age in `Age`). A tiny external store, fed
// by every API answer, read by the banner: it shows while degraded answers keep coming.

/** How long the banner stays after the last degraded answer. */
export const DEGRADED_SHOW_MS = 20_000;

export interface DegradedState {
  /** When the last degraded answer arrived (ms since the epoch). */
  seenAt: number;
  /** The oldest data shown among the recent degraded answers, in seconds. */
  ageS: number;
}

let state: DegradedState | null = null;
const listeners = new Set<() => void>();

function emit(): void {
  for (const listener of listeners) listener();
}

/** Note an API answer's headers. */
export function noteAnswer(headers: Headers, now: number = Date.now()): void {
  if (headers.get("trackboard-degraded") !== "true") return;
  const age = Number(headers.get("age") ?? "0");
  const ageS = Number.isFinite(age) ? age : 0;
  const recent = state !== null && now - state.seenAt < DEGRADED_SHOW_MS;
  state = { seenAt: now, ageS: recent && state ? Math.max(state.ageS, ageS) : ageS };
  emit();
}

/** The current state, or null once no degraded answer came for `DEGRADED_SHOW_MS`. */
export function degradedState(now: number = Date.now()): DegradedState | null {
  return state !== null && now - state.seenAt < DEGRADED_SHOW_MS ? state : null;
}

export function subscribeDegraded(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** For tests: forget what was seen. */
export function resetDegraded(): void {
  state = null;
  emit();
}
