// One WebSocket to /api/v1/ws shared by every view: reference-counted
// subscriptions, re-sent after each reconnect; exponential backoff with jitter.
import { decodeLiveEvent } from "../api/client";
import type { LiveEvent, LiveSubscription } from "../api/types";

export type LiveStatus = "connecting" | "open" | "offline";

type Listener = (event: LiveEvent) => void;

export interface SocketLike {
  readyState: number;
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  send(data: string): void;
  close(): void;
}

export interface LiveSocketOptions {
  createSocket?: (url: string) => SocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  random?: () => number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

const OPEN = 1;

export function subscriptionKey(sub: LiveSubscription): string {
  return "run_id" in sub ? `run:${sub.run_id}` : `experiment:${sub.experiment_id}`;
}

/** Subscription keys an event is delivered to. */
export function eventKeys(event: LiveEvent): string[] {
  if (event.event === "metrics") {
    return [`run:${event.run_id}`, `experiment:${event.experiment_id}`];
  }
  return [`run:${event.run.id}`, `experiment:${event.run.experiment_id}`];
}

/** Delay before reconnect attempt n (0-based): base·2ⁿ capped, times a jitter in [0.5, 1). */
export function backoffDelay(attempt: number, base: number, max: number, random: number): number {
  const raw = Math.min(max, base * Math.pow(2, Math.min(attempt, 20)));
  return Math.round(raw * (0.5 + random / 2));
}

export class LiveSocket {
  private readonly url: string;
  private readonly opts: Required<LiveSocketOptions>;
  private socket: SocketLike | null = null;
  private status: LiveStatus = "offline";
  private attempt = 0;
  private timer: unknown = null;
  private stopped = true;
  private readonly subs = new Map<string, { sub: LiveSubscription; listeners: Set<Listener> }>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  private readonly resyncListeners = new Set<() => void>();

  constructor(url: string, options: LiveSocketOptions = {}) {
    this.url = url;
    this.opts = {
      createSocket: options.createSocket ?? ((u) => new WebSocket(u)),
      setTimer: options.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer:
        options.clearTimer ?? ((h) => clearTimeout(h as number)),
      random: options.random ?? Math.random,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
    };
  }

  getStatus = (): LiveStatus => this.status;

  onStatus = (listener: (s: LiveStatus) => void): (() => void) => {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  };

  /** Called when the server dropped frames for this browser: re-read what is shown. */
  onResync = (listener: () => void): (() => void) => {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  };

  subscribe(sub: LiveSubscription, listener: Listener): () => void {
    const key = subscriptionKey(sub);
    let entry = this.subs.get(key);
    if (!entry) {
      entry = { sub, listeners: new Set() };
      this.subs.set(key, entry);
      this.send({ subscribe: sub });
    }
    entry.listeners.add(listener);
    if (this.stopped) this.start();
    return () => {
      const current = this.subs.get(key);
      if (!current) return;
      current.listeners.delete(listener);
      if (current.listeners.size === 0) {
        this.subs.delete(key);
        this.send({ unsubscribe: sub });
      }
    };
  }

  start(): void {
    this.stopped = false;
    if (!this.socket) this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close();
    }
    this.setStatus("offline");
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }

  private send(message: unknown): void {
    if (this.socket && this.socket.readyState === OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  private connect(): void {
    this.timer = null;
    // Polling stays on while connecting: only an open socket replaces it.
    if (this.status === "offline" && this.attempt === 0) this.setStatus("connecting");
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      for (const { sub } of this.subs.values()) socket.send(JSON.stringify({ subscribe: sub }));
      this.setStatus("open");
    };
    socket.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== "string") return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(ev.data);
      } catch {
        return;
      }
      if ((parsed as { event?: unknown } | null)?.event === "resync") {
        for (const l of this.resyncListeners) l();
        return;
      }
      const event = decodeLiveEvent(parsed);
      if (event) this.dispatch(event);
    };
    socket.onerror = () => {
      // onclose follows and schedules the reconnect.
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.setStatus("offline");
    const delay = backoffDelay(
      this.attempt,
      this.opts.baseDelayMs,
      this.opts.maxDelayMs,
      this.opts.random(),
    );
    this.attempt++;
    this.timer = this.opts.setTimer(() => this.connect(), delay);
  }

  private dispatch(event: LiveEvent): void {
    for (const key of eventKeys(event)) {
      const entry = this.subs.get(key);
      if (!entry) continue;
      for (const l of entry.listeners) l(event);
    }
  }
}

export function defaultLiveUrl(): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}/api/v1/ws`;
}
