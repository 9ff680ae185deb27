"""What bench/dashboard.py measures in Chromium: charts drawn after a navigation, frames
while the runs table scrolls, steps a second while an image series is scrubbed."""

from typing import Any

ROW_PX = 34
VIEWPORT = {"width": 1280, "height": 900}

# Drawn: `keys` chart cards, each with its canvas and a non-zero number of points, and on
# the compare page every run's series in each of them (`runs`; 0 on the run page). The
# compare page draws charts only once they are scrolled near (WhenVisible), so the script
# brings them into view at every poll, as a user going straight to them would.
CHARTS_DRAWN_JS = """
({ keys, runs, scroll }) => {
  if (scroll) document.querySelector('.charts')?.scrollIntoView();
  const cards = [...document.querySelectorAll('[data-testid="metric-chart"]')];
  const ready = cards.filter(c => Number(c.dataset.points) > 0 && c.querySelector('canvas')
    && Number(c.dataset.runs ?? 0) >= runs);
  return ready.length >= keys ? performance.now() : null;
}
"""

SCROLL_JS = """
async ({ rowsWanted, stopPx, pxPerFrame, timeoutMs }) => {
  const el = document.querySelector('[data-testid="runs-scroll"]');
  const footer = document.querySelector('[data-testid="runs-footer"]');
  const loaded = () =>
    Number((footer.textContent.match(/([\\d,]+) runs loaded/) || ["", "0"])[1].replace(/,/g, ""));
  const frames = [];
  let last = performance.now();
  const started = last;
  await new Promise((resolve) => {
    const step = (t) => {
      frames.push(t - last);
      last = t;
      el.scrollTop += pxPerFrame;
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
      if ((atEnd && loaded() >= rowsWanted) || el.scrollTop >= stopPx || t - started > timeoutMs)
        resolve();
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  const seconds = (performance.now() - started) / 1000;
  const rows = Math.round(el.scrollTop / 34);
  return { frames: frames.slice(1), loaded: loaded(), rows, seconds };
}
"""

LOAD_ALL_JS = """
async (rows) => {
  const el = document.querySelector('[data-testid="runs-scroll"]');
  const footer = document.querySelector('[data-testid="runs-footer"]');
  const started = performance.now();
  for (let i = 0; i < 20000; i++) {
    el.scrollTop = el.scrollHeight;
    await new Promise((r) => setTimeout(r, 50));
    if (footer.textContent.startsWith(rows.toLocaleString() + " runs loaded")) break;
  }
  const seconds = (performance.now() - started) / 1000;
  el.scrollTop = 0;
  await new Promise((r) => setTimeout(r, 500));
  return seconds;
}
"""

# At each animation frame, once the image of the current step is shown (its element says
# that step and the image is complete), the slider moves one step on, as a drag that
# moves at most one step a frame would. The display's 60 frames a second are the ceiling.
SCRUB_JS = """
async ({ frames, timeoutMs }) => {
  const slider = document.querySelector('[data-testid="image-slider"]');
  const img = () => document.querySelector('[data-testid="series-image"]');
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
  const move = (i) => {
    setValue.call(slider, String(i));
    slider.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const shown = (i) => {
    const el = img();
    return el.dataset.step === String(i) && el.complete && el.naturalWidth > 0;
  };
  move(0);
  await new Promise((resolve) => {
    const wait = () => (shown(0) ? resolve() : requestAnimationFrame(wait));
    wait();
  });
  let index = 0;
  let waits = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    const tick = (t) => {
      if (shown(index)) {
        if (index === frames - 1 || t - started > timeoutMs) return resolve();
        index += 1;
        move(index);
      } else waits += 1;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const seconds = (performance.now() - started) / 1000;
  return { steps: index, seconds, waits };
}
"""


# The page's API requests until now: how many, and when the last one was answered (ms).
API_REQUESTS_JS = """
() => {
  const api = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/"));
  return { count: api.length, lastMs: Math.max(0, ...api.map((e) => e.responseEnd)) };
}
"""


def measure_drawn(
    browser: Any, url: str, keys: int, runs: int, repeats: int
) -> tuple[list[float], list[float], list[dict[str, float]]]:
    """Navigation start → charts drawn, in ms: (cold: a fresh browser context, warm: the
    same context navigating again, and the API requests of each cold visit)."""
    cold: list[float] = []
    warm: list[float] = []
    requests: list[dict[str, float]] = []
    arg = {"keys": keys, "runs": runs, "scroll": runs > 0}
    for _ in range(repeats):
        context = browser.new_context(viewport=VIEWPORT)
        # Room for every request's timing (the default buffer keeps 250).
        context.add_init_script("performance.setResourceTimingBufferSize(100000)")
        page = context.new_page()
        for times in (cold, warm):
            page.goto(url, wait_until="commit")
            handle = page.wait_for_function(CHARTS_DRAWN_JS, arg=arg, polling="raf", timeout=60_000)
            times.append(float(handle.json_value()))
            if times is cold:
                requests.append(page.evaluate(API_REQUESTS_JS))
            page.goto("about:blank")
        context.close()
    return cold, warm, requests


def measure_scroll(
    browser: Any, url: str, runs: int, rows: int, repeats: int, preload: bool, rows_per_frame: int
) -> list[dict[str, Any]]:
    """Scroll `rows` rows down at `rows_per_frame` (to the end if `rows` ≥ `runs`); with
    `preload`, after every page is loaded (rendering only). Adds the main thread's busy
    and CPU time per frame and the JS heap used at the end, from the DevTools
    performance counters."""
    results = []
    for _ in range(repeats):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        page.wait_for_selector('[data-testid="runs-scroll"] .grid-row.body', timeout=60_000)
        load_seconds = page.evaluate(LOAD_ALL_JS, runs) if preload else None
        before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        args = {
            "rowsWanted": runs,
            "stopPx": min(rows, runs) * ROW_PX,
            "pxPerFrame": ROW_PX * rows_per_frame,
            "timeoutMs": 600_000,
        }
        result: dict[str, Any] = page.evaluate(SCROLL_JS, args)
        after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        frames = max(1, len(result["frames"]))
        result["busy_ms"] = (after["TaskDuration"] - before["TaskDuration"]) * 1000 / frames
        # CPU time, unlike task time, leaves out waiting for a core on a loaded machine.
        result["cpu_ms"] = (after["ThreadTime"] - before["ThreadTime"]) * 1000 / frames
        # What the page holds once scrolled (MB): what each major GC has to mark.
        result["heap_mb"] = after["JSHeapUsedSize"] / 2**20
        result["load_seconds"] = load_seconds
        results.append(result)
        context.close()
    return results


SERIES_LOADED_JS = """
(frames) => {
  const series = document.querySelector('[data-testid="image-series"]');
  const img = document.querySelector('[data-testid="series-image"]');
  return series && !series.textContent.includes("loading") && img?.complete && img.naturalWidth
    && series.textContent.includes("/" + frames) ? performance.now() : null;
}
"""


def measure_scrub(browser: Any, url: str, frames: int, repeats: int) -> list[dict[str, float]]:
    """Per repeat, in a fresh context: navigation → the series shown with every frame
    fetched (ms), then a scrub over all frames (steps a second)."""
    results = []
    for _ in range(repeats):
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url, wait_until="commit")
        handle = page.wait_for_function(SERIES_LOADED_JS, arg=frames, polling="raf", timeout=60_000)
        ready_ms = float(handle.json_value())
        scrub = page.evaluate(SCRUB_JS, {"frames": frames, "timeoutMs": 60_000})
        results.append(
            {
                "ready_ms": ready_ms,
                "steps_per_s": scrub["steps"] / scrub["seconds"],
                "steps": scrub["steps"],
                "waits": scrub["waits"],
            }
        )
        context.close()
    return results
