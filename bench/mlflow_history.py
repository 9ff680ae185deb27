"""MLflow `GET /api/2.0/mlflow/metrics/get-history` of one 100k-point series.

    python bench/mlflow_history.py [--store sqlite|postgres|both] [--repeats 30]

Starts a real `trackboard server` per store on loopback (PostgreSQL: a throwaway database
on 127.0.0.1:5432), logs 100,000 points of one key through the v1 API, then times the MLflow
history request until the last byte of the response arrived (the JSON is checked after
the clock stops). Prints p50/p95 ms and writes them to docs/benchmarks-search.md.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.live_server import free_port, wait_until_healthy

from bench.report import median, percentile
from bench.search_shapes import write_section
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import upgrade_database

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
POINTS = 100_000


async def measure(url: str, repeats: int) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        experiment = (await http.post("/api/v1/experiments", json={"name": "h"})).json()["id"]
        run_id = (await http.post(f"/api/v1/experiments/{experiment}/runs", json={})).json()["id"]
        for start in range(0, POINTS, 10_000):
            steps = list(range(start, start + 10_000))
            body = {
                "columns": [
                    {"key": "loss", "steps": steps, "values": [random.random() for _ in steps]}
                ]
            }
            (await http.post(f"/api/v1/runs/{run_id}/metrics", json=body)).raise_for_status()
        params = {"run_id": run_id, "metric_key": "loss"}
        milliseconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = await http.get("/api/2.0/mlflow/metrics/get-history", params=params)
            milliseconds.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            assert len(orjson.loads(response.content)["metrics"]) == POINTS
    return milliseconds


async def bench_store(store: str, repeats: int) -> list[float]:
    home = Path(tempfile.mkdtemp(prefix=f"tb-history-{store}-"))
    env = {**os.environ, "TRACKBOARD_HOME": str(home), "TRACKBOARD_LOG_LEVEL": "WARNING"}
    database_name = f"tb_history_{uuid.uuid4().hex[:10]}"
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
        return await measure(url, repeats)
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
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    stores = ["postgres", "sqlite"] if args.store == "both" else [args.store]
    lines = [
        f"Command: `python bench/mlflow_history.py --repeats {args.repeats}` (a real server "
        "process per store; 100,000 points of one key logged through the v1 API, then "
        "`GET /api/2.0/mlflow/metrics/get-history` timed until the last byte of the "
        "response arrived, one request at a time).",
        "",
        "| store | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for store in stores:
        samples = asyncio.run(bench_store(store, args.repeats))
        lines.append(f"| {store} | {median(samples):.1f} | {percentile(samples, 95):.1f} |")
        print(lines[-1], flush=True)
    if not args.no_write:
        write_section("mlflow-history", "\n".join(lines))


if __name__ == "__main__":
    main()
