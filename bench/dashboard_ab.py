"""The dashboard as built now against another build of it, in one run (A/B): on a shared,
loaded machine figures taken at different times differ by the load more than by a change.

    git worktree add --detach /tmp/before <commit>
    ln -s "$PWD/dashboard/node_modules" /tmp/before/dashboard/node_modules
    (cd /tmp/before/dashboard && npm run build)
    python bench/dashboard_ab.py --before /tmp/before --part table [--rounds 2] [--runs 20000]

Starts two servers with the same data, one importing trackboard (and so serving the
dashboard built) from `--before`'s src/, and measures them in alternating order, round by
round, in one Chromium, with the measures of bench/dashboard.py:
- `--part run`: the run page of 4 keys x 100,000 points, navigation → all charts drawn
  (first and second visit, medians of 3 per round);
- `--part table`: `--runs` runs all loaded page by page (seconds), then stress-scrolled
  `--rows` rows at 20 rows a frame: main thread CPU a frame, frames over 50 ms, the
  longest frame, the JS heap used after the scroll.
Prints each round and the medians; writes nothing.
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.servers import ServerProcess

from bench.dashboard_measures import measure_drawn, measure_scroll
from bench.dashboard_seed import seed_long_run, seed_many_runs

FRAME_BUDGET_MS = 50
STRESS_ROWS_PER_FRAME = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout, dashboard built")
    parser.add_argument("--part", choices=["run", "table"], required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=12_000)
    return parser.parse_args()


def seed(args: argparse.Namespace, server: ServerProcess, home: Path) -> str:
    """The run (run page) or the experiment (table) to open."""
    if args.part == "table":
        return str(seed_many_runs(home, args.runs))
    with httpx.Client(base_url=server.base_url + "/api/v1", timeout=120) as client:
        return seed_long_run(client, 4, 100_000)


def measure(args: argparse.Namespace, browser: Any, base: str, target: str) -> dict[str, float]:
    if args.part == "run":
        cold, warm, _ = measure_drawn(browser, f"{base}/runs/{target}", 4, 0, 3)
        return {
            "first visit ms": statistics.median(cold),
            "second visit ms": statistics.median(warm),
        }
    url = f"{base}/experiments/{target}"
    [scroll] = measure_scroll(browser, url, args.runs, args.rows, 1, True, STRESS_ROWS_PER_FRAME)
    return {
        "all loaded s": float(scroll["load_seconds"]),
        "CPU ms a frame": scroll["cpu_ms"],
        "frames over 50 ms": float(sum(f > FRAME_BUDGET_MS for f in scroll["frames"])),
        "frames": float(len(scroll["frames"])),
        "longest frame ms": max(scroll["frames"], default=0.0),
        "JS heap after MB": scroll["heap_mb"],
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = parse_args()
    before_src = args.before.resolve() / "src"
    with tempfile.TemporaryDirectory() as now_dir, tempfile.TemporaryDirectory() as before_dir:
        homes = {"now": Path(now_dir), "before": Path(before_dir)}
        envs = {"now": None, "before": {"PYTHONPATH": str(before_src)}}
        servers: dict[str, ServerProcess] = {}
        try:
            for name, home in homes.items():
                servers[name] = ServerProcess(home, home / "server.log", envs[name])
            targets = {name: seed(args, servers[name], homes[name]) for name in servers}
            results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                for r in range(args.rounds):
                    for name in ("before", "now") if r % 2 == 0 else ("now", "before"):
                        figures = measure(args, browser, servers[name].base_url, targets[name])
                        results[name].append(figures)
                        load = os.getloadavg()[0]
                        print(f"round {r} {name}: {figures} (load {load:.1f})", flush=True)
                browser.close()
            for name, rounds in results.items():
                medians = {k: round(statistics.median(f[k] for f in rounds), 1) for k in rounds[0]}
                print(f"{name}: medians of {len(rounds)} rounds {medians}")
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
