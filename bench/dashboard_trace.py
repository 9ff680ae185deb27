"""What the runs table's long frames are: a Chromium trace of the stress scroll, summarised.

    python bench/dashboard_trace.py [--runs 100000] [--rows 100000] [--trace /tmp/scroll.json]
        [--read]

Seeds `--runs` runs (as bench/dashboard.py does), loads them all in the runs table, then
records a Chromium performance trace (DevTools timeline, V8 and Oilpan GC categories) while the
table is scrolled `--rows` rows at 20 rows a frame, the stress scroll of
docs/benchmarks-dashboard.md. Each animation frame leaves a `console.timeStamp` in the
trace; for every interval between two over 50 ms the main thread's events inside it are
listed by total time (nested events count in their parents too), so a long frame reads as
'MajorGC 310 ms' or 'Layout 40 ms', with the main thread's CPU time in it (the tasks'
thread time, which leaves out waiting for a core). Also prints the main thread's GC pauses
and the JS heap before and after the scroll. Tracing slows the page: frames over 50 ms
are more frequent than in bench/dashboard.py's untraced scroll.
Writes nothing but the trace file; `--read` summarises a trace recorded before.
"""

import argparse
import itertools
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.servers import ServerProcess

from bench.dashboard_measures import LOAD_ALL_JS, ROW_PX, VIEWPORT
from bench.dashboard_seed import seed_many_runs

FRAME_BUDGET_MS = 50
STRESS_ROWS_PER_FRAME = 20
CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.gc",
    "disabled-by-default-v8.gc",
    "cppgc",
    "blink_gc",
    "blink.user_timing",
]

# The stress scroll of bench/dashboard_measures.SCROLL_JS, marking each frame in the trace.
TRACED_SCROLL_JS = """
async ({ stopPx, pxPerFrame }) => {
  const el = document.querySelector('[data-testid="runs-scroll"]');
  let frames = 0;
  await new Promise((resolve) => {
    const step = () => {
      console.timeStamp("scroll-frame");
      frames += 1;
      el.scrollTop += pxPerFrame;
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
      if (atEnd || el.scrollTop >= stopPx) resolve();
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  return frames;
}
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trace", type=Path, default=Path("/tmp/runs-table-scroll-trace.json"))
    parser.add_argument("--read", action="store_true", help="summarise --trace, recording none")
    return parser.parse_args()


def heap_mb(cdp: Any) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics["JSHeapUsedSize"]) / 2**20


def record(args: argparse.Namespace, base: str, experiment_id: int) -> None:
    from playwright.sync_api import ViewportSize, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        viewport = ViewportSize(width=VIEWPORT["width"], height=VIEWPORT["height"])
        page = browser.new_context(viewport=viewport).new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(f"{base}/experiments/{experiment_id}")
        page.wait_for_selector('[data-testid="runs-scroll"] .grid-row.body', timeout=60_000)
        print(f"all {args.runs:,} loaded in {page.evaluate(LOAD_ALL_JS, args.runs):.1f} s")
        print(f"JS heap before the scroll: {heap_mb(cdp):.0f} MB")
        browser.start_tracing(page=page, path=str(args.trace), categories=CATEGORIES)
        scroll = {"stopPx": args.rows * ROW_PX, "pxPerFrame": ROW_PX * STRESS_ROWS_PER_FRAME}
        frames = page.evaluate(TRACED_SCROLL_JS, scroll)
        browser.stop_tracing()
        print(f"{frames} frames; JS heap after the scroll: {heap_mb(cdp):.0f} MB")
        browser.close()


def is_frame_mark(event: dict[str, Any]) -> bool:
    data = event.get("args", {}).get("data", {})
    return bool(event.get("name") == "TimeStamp" and data.get("message") == "scroll-frame")


def main_thread_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the renderer's main thread: the one that marked the frames."""
    mark = next((e for e in events if is_frame_mark(e)), None)
    if mark is None:
        sys.exit("no frame marks in the trace")
    return [e for e in events if (e.get("pid"), e.get("tid")) == (mark["pid"], mark["tid"])]


def print_gc_totals(complete: list[dict[str, Any]]) -> None:
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, float] = defaultdict(float)
    for e in complete:
        if e["name"] in ("MajorGC", "MinorGC", "V8.GC_MC_INCREMENTAL"):
            counts[e["name"]] += 1
            totals[e["name"]] += e["dur"] / 1000
    print("main-thread GC over the scroll (MajorGC and MinorGC are pauses):")
    for name, ms in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {counts[name]} events, {ms:.0f} ms")
    heaps = [e["args"] for e in complete if e["name"] == "MajorGC" and "args" in e]
    # V8's reason for finishing each one ('finalize incremental marking via stack guard'...);
    # why marking started is not in the trace: run Chromium with
    # --js-flags=--trace-incremental-marking for that (V8's heap or the global limit).
    reasons: dict[str, int] = defaultdict(int)
    for h in heaps:
        reasons[str(h.get("type", "?"))] += 1
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        print(f"  MajorGC '{reason}': {n}")
    if heaps:
        after = [h.get("usedHeapSizeAfter", 0) / 2**20 for h in heaps]
        print(f"  heap after each major GC: {min(after):.0f}-{max(after):.0f} MB")


def frame_cpu_ms(marks: list[float], complete: list[dict[str, Any]]) -> list[float]:
    """The main thread's CPU time (the tasks' thread time) between each two frame marks:
    unlike the wall time, it leaves out waiting for a core on a loaded machine."""
    tasks = sorted((e["ts"], e.get("tdur", 0) / 1000) for e in complete if e["name"] == "RunTask")
    cpu = [0.0] * max(0, len(marks) - 1)
    frame = 0
    for ts, ms in tasks:
        while frame < len(cpu) and ts >= marks[frame + 1]:
            frame += 1
        if frame < len(cpu) and ts >= marks[frame]:
            cpu[frame] += ms
    return cpu


def print_long_frames(marks: list[float], complete: list[dict[str, Any]]) -> None:
    budget_us = FRAME_BUDGET_MS * 1000
    cpu = frame_cpu_ms(marks, complete)
    over = sorted(ms for ms in cpu if ms > FRAME_BUDGET_MS)
    print(
        f"main-thread CPU a frame: longest {max(cpu, default=0):.0f} ms, "
        f"{len(over)} frames over {FRAME_BUDGET_MS} ms of CPU"
    )
    long = [(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(marks)) if b - a > budget_us]
    print(f"{len(long)} frames over {FRAME_BUDGET_MS} ms of wall time")
    for frame, start, end in long:
        totals: dict[str, float] = defaultdict(float)
        for e in complete:
            if e["ts"] >= start and e["ts"] + e["dur"] <= end:
                totals[e["name"]] += e["dur"] / 1000
        top = sorted(totals.items(), key=lambda kv: -kv[1])[:10]
        parts = ", ".join(f"{name} {ms:.0f}" for name, ms in top)
        wall = (end - start) / 1000
        print(f"- frame {frame} ({wall:.0f} ms, {cpu[frame]:.0f} ms of CPU): {parts}")


def summarise(path: Path) -> None:
    raw = json.loads(path.read_text())
    events: list[dict[str, Any]] = raw["traceEvents"] if isinstance(raw, dict) else raw
    main_thread = main_thread_events(events)
    marks = sorted(float(e["ts"]) for e in main_thread if is_frame_mark(e))
    complete = [e for e in main_thread if e.get("ph") == "X" and "dur" in e and "ts" in e]
    print(f"{len(marks)} frames traced")
    print_gc_totals(complete)
    print_long_frames(marks, complete)


def main() -> None:
    args = parse_args()
    if args.read:
        summarise(args.trace)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server = ServerProcess(home, home / "server.log")
        try:
            experiment_id = seed_many_runs(home, args.runs)
            record(args, server.base_url, experiment_id)
        finally:
            server.stop()
    summarise(args.trace)


if __name__ == "__main__":
    main()
