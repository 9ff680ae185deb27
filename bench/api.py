"""API benchmark: run creation, 1,000-point batches, long-series history, search at 100k runs.

    python bench/api.py [--store sqlite|postgres|both] [--repeats 3]

Starts a real `trackboard server` per store on loopback (PostgreSQL: a throwaway database
on 127.0.0.1:5432), drives it with httpx, prints the figures and writes them to
docs/benchmarks.md. Search data (10k and 100k runs) is seeded straight into the database, since
that benchmark measures reads; everything else goes through the HTTP API.
"""

import argparse
import asyncio
import gc
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_server import free_port, wait_until_healthy

from bench.report import median, percentile, write_section
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import upgrade_database
from trackboard.server.models import Experiment, MetricSummary, Run, RunParam

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
SEARCH_RUNS = 100_000
SERIES_POINTS = 1_000_000
# Experiments seeded straight into the database for search: 10k and 100k runs.
SMALL_EXPERIMENT, LARGE_EXPERIMENT = 1001, 1000


@dataclass
class Latencies:
    name: str
    seconds: list[float]
    wall_s: float
    unit_per_request: int = 1

    @property
    def rate(self) -> float:
        return len(self.seconds) * self.unit_per_request / self.wall_s

    def row(self) -> str:
        ms = [s * 1000 for s in self.seconds]
        return (
            f"| {self.name} | {self.rate:,.0f} | {median(ms):.1f} | {percentile(ms, 95):.1f} "
            f"| {percentile(ms, 99):.1f} |"
        )


# A request under test returns an optional check of its response, run outside the timing:
# the latency is the server's (until the last byte arrived), not the bench's JSON parsing.
Check = Callable[[], object] | None


async def drive(
    name: str,
    requests: int,
    concurrency: int,
    call: Callable[[int], Awaitable[Check]],
    unit_per_request: int = 1,
) -> Latencies:
    seconds: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            check = await call(i)
            seconds.append(time.perf_counter() - started)
            if check is not None:
                check()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Latencies(name, seconds, time.perf_counter() - started, unit_per_request)


async def seed_search_runs(database_url: str, experiment_id: int, count: int) -> None:
    """`count` finished runs with an `acc` and a `loss` summary and an `lr` param."""
    engine = create_engine(database_url)
    rng = random.Random(7)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Experiment),
                [
                    {
                        "id": experiment_id,
                        "name": f"search-{experiment_id}",
                        "lifecycle_stage": "active",
                        "creation_time": 0,
                        "last_update_time": 0,
                    }
                ],
            )
        for start in range(0, count, 10_000):
            runs, params, summaries = [], [], []
            for i in range(start, min(count, start + 10_000)):
                run_id = uuid.uuid4().hex
                runs.append(
                    {
                        "id": run_id,
                        "experiment_id": experiment_id,
                        "name": f"run-{i}",
                        "status": "FINISHED",
                        "start_time": 1_700_000_000_000 + i,
                        "end_time": None,
                        "user": "bench",
                        "lifecycle_stage": "active",
                    }
                )
                params.append(
                    {"run_id": run_id, "key": "lr", "value": rng.choice(["0.1", "0.01", "0.001"])}
                )
                for key, value in (("acc", rng.random()), ("loss", rng.random())):
                    summaries.append(
                        {
                            "run_id": run_id,
                            "key": key,
                            "experiment_id": experiment_id,
                            "last_value": value,
                            "last_step": 100,
                            "last_timestamp": 0,
                            "min_value": value,
                            "max_value": value,
                            "count": 100,
                        }
                    )
            async with engine.begin() as connection:
                await connection.execute(insert(Run), runs)
                await connection.execute(insert(RunParam), params)
                await connection.execute(insert(MetricSummary), summaries)
        if engine.dialect.name == "postgresql":
            # Committed: statistics gathered in a transaction that rolls back are discarded,
            # and the planner then guesses a handful of rows where there are 100k.
            async with engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


async def measure(url: str, database_url: str, repeats: int) -> list[Latencies]:
    results: list[Latencies] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        experiment = (await http.post("/api/v1/experiments", json={"name": "bench"})).json()["id"]

        async def create_run(_: int) -> Check:
            response = await http.post(f"/api/v1/experiments/{experiment}/runs", json={})
            return response.raise_for_status

        run_id = (await http.post(f"/api/v1/experiments/{experiment}/runs", json={})).json()["id"]
        step = iter(range(10**9))

        async def log_batch(_: int) -> Check:
            base = next(step) * 1000
            steps = list(range(base, base + 1000))
            body = {
                "columns": [
                    {"key": "loss", "steps": steps, "values": [random.random() for _ in steps]}
                ]
            }
            return (await http.post(f"/api/v1/runs/{run_id}/metrics", json=body)).raise_for_status

        long_run = (await http.post(f"/api/v1/experiments/{experiment}/runs", json={})).json()["id"]
        for start in range(0, SERIES_POINTS, 10_000):
            steps = list(range(start, start + 10_000))
            values = [math.sin(s / 5000) + random.random() * 0.1 for s in steps]
            body = {"columns": [{"key": "loss", "steps": steps, "values": values}]}
            (await http.post(f"/api/v1/runs/{long_run}/metrics", json=body)).raise_for_status()
        mid_run = (await http.post(f"/api/v1/experiments/{experiment}/runs", json={})).json()["id"]
        for start in range(0, 100_000, 10_000):
            steps = list(range(start, start + 10_000))
            body = {
                "columns": [
                    {"key": "loss", "steps": steps, "values": [random.random() for _ in steps]}
                ]
            }
            (await http.post(f"/api/v1/runs/{mid_run}/metrics", json=body)).raise_for_status()

        def expect(
            response: httpx.Response, field: str, count: int, *, exact: bool = True
        ) -> Check:
            def check() -> None:
                response.raise_for_status()
                got = len(orjson.loads(response.content)[field])
                assert got == count if exact else 0 < got <= count, (field, got)

            return check

        async def downsampled(_: int) -> Check:
            response = await http.get(
                f"/api/v1/runs/{long_run}/metrics/loss", params={"max_points": 2000}
            )
            return expect(response, "points", 2000, exact=False)

        async def full_100k(_: int) -> Check:
            response = await http.get(f"/api/v1/runs/{mid_run}/metrics/loss")
            return expect(response, "points", 100_000)

        def search_in(experiment_id: int) -> Callable[[int], Awaitable[Check]]:
            body = {
                "experiment_ids": [experiment_id],
                "filter": "metrics.acc > 0.5 and params.lr = '0.01'",
                "order_by": ["metrics.acc DESC"],
                "limit": 100,
            }

            async def search(_: int) -> Check:
                return expect(await http.post("/api/v1/runs/search", json=body), "runs", 100)

            return search

        async def list_1000(_: int) -> Check:
            body = {"experiment_ids": [LARGE_EXPERIMENT], "limit": 1000}
            return expect(await http.post("/api/v1/runs/search", json=body), "runs", 1000)

        # The client's own garbage collector would otherwise walk the seeding data in the
        # middle of timed requests; what is measured here is the server.
        gc.collect()
        gc.freeze()
        for _ in range(repeats):
            results.append(await drive("create run (4 clients)", 300, 4, create_run))
            results.append(
                await drive("1,000-point batch (4 clients), points/s", 200, 4, log_batch, 1000)
            )
            results.append(await drive("history 1M points, max_points=2000", 30, 1, downsampled))
            results.append(await drive("history 100k points, full", 10, 1, full_100k))
            results.append(
                await drive(
                    "search 10k runs: filter + sort, limit 100", 50, 1, search_in(SMALL_EXPERIMENT)
                )
            )
            results.append(
                await drive(
                    "search 100k runs: filter + sort, limit 100", 50, 1, search_in(LARGE_EXPERIMENT)
                )
            )
            results.append(await drive("list 1,000 runs", 20, 1, list_1000))
    return results


def merge(results: list[Latencies]) -> list[Latencies]:
    """Medians across repeats: per benchmark, the repeat with the median rate."""
    by_name: dict[str, list[Latencies]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    merged = []
    for runs in by_name.values():
        runs.sort(key=lambda r: r.rate)
        merged.append(runs[len(runs) // 2])
    return merged


async def bench_store(store: str, repeats: int) -> list[Latencies]:
    home = Path(tempfile.mkdtemp(prefix=f"tb-bench-{store}-"))
    env = {**os.environ, "TRACKBOARD_HOME": str(home), "TRACKBOARD_LOG_LEVEL": "WARNING"}
    database_name = f"tb_bench_{uuid.uuid4().hex[:10]}"
    if store == "postgres":
        admin = await asyncpg.connect(f"{POSTGRES}/test")
        await admin.execute(f'CREATE DATABASE "{database_name}"')
        await admin.close()
        database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database_name}"
        env["TRACKBOARD_DATABASE_URL"] = database_url
    else:
        database_url = f"sqlite+aiosqlite:///{home / 'trackboard.db'}"
    engine = create_engine(database_url)
    await upgrade_database(engine)
    await engine.dispose()
    await seed_search_runs(database_url, SMALL_EXPERIMENT, SEARCH_RUNS // 10)
    await seed_search_runs(database_url, LARGE_EXPERIMENT, SEARCH_RUNS)
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
        [sys.executable, "-m", "trackboard.cli.main", "server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        return merge(await measure(url, database_url, repeats))
    finally:
        process.terminate()
        process.wait(timeout=20)
        if store == "postgres":
            admin = await asyncpg.connect(f"{POSTGRES}/test")
            await admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    stores = ["postgres", "sqlite"] if args.store == "both" else [args.store]
    lines = [
        "Command: `python bench/api.py` (a real server process per store, driven over loopback "
        "by httpx in one process on the same 2 cores; the median of "
        f"{args.repeats} repeats; a latency ends when the last byte of the response arrived, "
        "the bench checks the JSON after it). Search runs (10,000 and "
        f"{SEARCH_RUNS:,}, two experiments) are seeded into the "
        "database directly; all else goes through the API.",
        "",
    ]
    for store in stores:
        results = asyncio.run(bench_store(store, args.repeats))
        lines += [
            f"### {store}",
            "",
            "| benchmark | requests/s (or points/s) | p50 ms | p95 ms | p99 ms |",
            "|---|---:|---:|---:|---:|",
            *[r.row() for r in results],
            "",
        ]
        print("\n".join(lines[-len(results) - 5 :]))
    write_section("api", "\n".join(lines))


if __name__ == "__main__":
    main()
