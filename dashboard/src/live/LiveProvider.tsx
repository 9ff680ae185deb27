// React access to the shared LiveSocket: status, subscriptions, and the polling
// interval queries use while the socket is not open.
import { useQueryClient } from "@tanstack/react-query";
import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type { LiveEvent, LiveSubscription } from "../api/types";
import { LiveSocket, subscriptionKey, type LiveStatus } from "./socket";

export const POLL_INTERVAL_MS = 5000;

const LiveContext = createContext<LiveSocket | null>(null);

export function LiveProvider({ socket, children }: { socket: LiveSocket; children: ReactNode }) {
  const queryClient = useQueryClient();
  useEffect(() => {
    // Events sent while the socket was down are lost: catch up once it is back.
    let wasDown = false;
    const off = socket.onStatus((status) => {
      if (status === "open" && wasDown) void queryClient.invalidateQueries();
      if (status === "offline") wasDown = true;
    });
    const offResync = socket.onResync(() => void queryClient.invalidateQueries());
    return () => {
      off();
      offResync();
    };
  }, [socket, queryClient]);
  return <LiveContext.Provider value={socket}>{children}</LiveContext.Provider>;
}

function useSocket(): LiveSocket {
  const socket = useContext(LiveContext);
  if (!socket) throw new Error("LiveProvider missing");
  return socket;
}

export function useLiveStatus(): LiveStatus {
  const socket = useSocket();
  return useSyncExternalStore(socket.onStatus, socket.getStatus, socket.getStatus);
}

/** refetchInterval for queries: poll only while live updates are unavailable. */
export function usePollInterval(): number | false {
  return useLiveStatus() === "open" ? false : POLL_INTERVAL_MS;
}

/** Calls `onEvent` for each event of the subscription; `null` subscribes to nothing. */
export function useLiveEvents(
  sub: LiveSubscription | null,
  onEvent: (event: LiveEvent) => void,
): void {
  const socket = useSocket();
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  });
  const key = sub ? subscriptionKey(sub) : null;
  useEffect(() => {
    if (!sub) return;
    return socket.subscribe(sub, (e) => {
      handler.current(e);
    });
    // `key` identifies `sub`; the object itself is re-created every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [socket, key]);
}
