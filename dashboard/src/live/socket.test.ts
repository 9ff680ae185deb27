import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../api/types";
import { backoffDelay, eventKeys, LiveSocket, type SocketLike } from "./socket";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({} as CloseEvent);
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const live = new LiveSocket("ws://test/api/v1/ws", {
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
    random: () => 1,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
  });
  return { live, sockets, timers };
}

const metrics = (run_id: string, experiment_id: number): LiveEvent => ({
  event: "metrics",
  run_id,
  experiment_id,
  points: { loss: [[1, 0.5, 2]] },
});

describe("LiveSocket", () => {
  it("connects on the first subscription and subscribes once open", () => {
    const { live, sockets } = harness();
    live.subscribe({ run_id: "r1" }, () => undefined);
    expect(sockets).toHaveLength(1);
    expect(live.getStatus()).toBe("connecting");
    sockets[0]?.open();
    expect(live.getStatus()).toBe("open");
    expect(sockets[0]?.sent).toEqual([{ subscribe: { run_id: "r1" } }]);
  });

  it("delivers events to run and experiment subscribers, decoding non-finite values", () => {
    const { live, sockets } = harness();
    const byRun: LiveEvent[] = [];
    const byExperiment: LiveEvent[] = [];
    live.subscribe({ run_id: "r1" }, (e) => byRun.push(e));
    live.subscribe({ experiment_id: 7 }, (e) => byExperiment.push(e));
    sockets[0]?.open();
    sockets[0]?.receive({ event: "metrics", run_id: "r1", experiment_id: 7, points: { l: [[1, "NaN", 2]] } });
    sockets[0]?.receive({ event: "subscribed", topic: { run_id: "r1" } });
    expect(byRun).toHaveLength(1);
    expect(byExperiment).toHaveLength(1);
    const e = byRun[0];
    expect(e?.event === "metrics" && Number.isNaN(e.points.l?.[0]?.[1])).toBe(true);
  });

  it("reconnects with growing backoff and re-sends every subscription", () => {
    const { live, sockets, timers } = harness();
    live.subscribe({ run_id: "r1" }, () => undefined);
    live.subscribe({ experiment_id: 3 }, () => undefined);
    sockets[0]?.open();
    sockets[0]?.drop();
    expect(live.getStatus()).toBe("offline");
    expect(timers.map((t) => t.ms)).toEqual([500]);
    timers[0]?.fn();
    sockets[1]?.drop();
    expect(timers.map((t) => t.ms)).toEqual([500, 1000]);
    timers[1]?.fn();
    sockets[2]?.open();
    expect(live.getStatus()).toBe("open");
    expect(sockets[2]?.sent).toEqual([
      { subscribe: { run_id: "r1" } },
      { subscribe: { experiment_id: 3 } },
    ]);
    sockets[2]?.drop();
    expect(timers.at(-1)?.ms).toBe(500); // an open connection resets the backoff
  });

  it("shares one server subscription between listeners and unsubscribes after the last", () => {
    const { live, sockets } = harness();
    const off1 = live.subscribe({ run_id: "r1" }, () => undefined);
    const off2 = live.subscribe({ run_id: "r1" }, () => undefined);
    sockets[0]?.open();
    off1();
    expect(sockets[0]?.sent).toEqual([{ subscribe: { run_id: "r1" } }]);
    off2();
    expect(sockets[0]?.sent).toEqual([
      { subscribe: { run_id: "r1" } },
      { unsubscribe: { run_id: "r1" } },
    ]);
  });

  it("asks for a re-read when the server says frames were dropped", () => {
    const { live, sockets } = harness();
    let resyncs = 0;
    live.onResync(() => resyncs++);
    live.subscribe({ run_id: "r1" }, () => undefined);
    sockets[0]?.open();
    sockets[0]?.receive({ event: "resync" });
    expect(resyncs).toBe(1);
  });

  it("reports status changes", () => {
    const { live, sockets } = harness();
    const seen: string[] = [];
    live.onStatus((s) => seen.push(s));
    live.subscribe({ run_id: "r1" }, () => undefined);
    sockets[0]?.open();
    sockets[0]?.drop();
    expect(seen).toEqual(["connecting", "open", "offline"]);
  });
});

describe("helpers", () => {
  it("caps the backoff and applies jitter", () => {
    expect(backoffDelay(0, 500, 30_000, 1)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, 1)).toBe(4000);
    expect(backoffDelay(30, 500, 30_000, 1)).toBe(30_000);
    expect(backoffDelay(3, 500, 30_000, 0)).toBe(2000);
  });

  it("routes an event to its run and its experiment", () => {
    expect(eventKeys(metrics("r", 2))).toEqual(["run:r", "experiment:2"]);
  });
});
