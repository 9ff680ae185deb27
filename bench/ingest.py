"""Metric ingestion end to end: 4 clients → API → RabbitMQ → worker → PostgreSQL.

One command (`python bench/ingest.py`) starts everything it needs on loopback (a database
and a vhost of its own, `trackboard server`, `trackboard worker`, MLflow's tracking server
from `.bench/mlflow-venv`), measures, stops it all and writes docs/benchmarks-ingest.md:
- points/s accepted *and* durable in PostgreSQL (clock stops when the last point is stored);
- raw binary COPY of the same points, one row each, from 4 connections (the machine's limit);
- MLflow 3.17.2 `log-batch` of 1,000 metrics from 4 clients on its own database;
- freshness (202 → readable) at full speed (PRODUCT.md's target: p99 ≤ 2 s at the full
  ingest rate) and with the clients paced at 300,000 points/s, a rate the worker keeps up
  with: a poller reads the per-key summaries every 20 ms;
- bytes per stored point on PostgreSQL (tables + indexes + TOAST), big and small writes;
- parse cost of the row and columnar wire forms.
"""

import argparse
import asyncio
import datetime
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MLFLOW_BIN = ROOT / ".bench" / "mlflow-venv" / "bin" / "mlflow"
REPORT = ROOT / "docs" / "benchmarks-ingest.md"
PG = "postgresql://postgres@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672"
CLIENTS = 4
KEYS = 10
STEPS_PER_KEY = 1_000  # 10,000 points a request: the API's batch limit
POLL_S = 0.02
# PRODUCT.md's targets: durable ingestion ≥ 1,000,000 points/s and ≥ 60 % of raw COPY;
# freshness p99 ≤ 2 s at the full ingest rate. At full speed the clients can outrun the
# worker (the queue grows until back-pressure), so freshness is also measured at a paced
# rate that the worker keeps up with.
TARGET_POINTS_PER_S = 1_000_000
TARGET_COPY_FRACTION = 0.60
PACED_POINTS_PER_S = 300_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Any:
    with log.open("wb") as out:
        child = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(f"{PG}/test")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


# ---------------------------------------------------------------- request bodies


def columns_body(batch_id: str, first_step: int) -> bytes:
    steps = list(range(first_step, first_step + STEPS_PER_KEY))
    now = int(time.time() * 1000)
    return orjson.dumps(
        {
            "batch_id": batch_id,
            "columns": [
                {
                    "key": f"train/metric_{k}",
                    "steps": steps,
                    "values": [0.5 + 1e-4 * s * (k + 1) for s in steps],
                    "timestamps": [now + s for s in steps],
                }
                for k in range(KEYS)
            ],
        }
    )


def rows_body(batch_id: str, first_step: int) -> bytes:
    now = int(time.time() * 1000)
    return orjson.dumps(
        {
            "batch_id": batch_id,
            "metrics": [
                {"key": f"train/metric_{k}", "value": 0.5 + 1e-4 * s, "step": s, "timestamp": now}
                for k in range(KEYS)
                for s in range(first_step, first_step + STEPS_PER_KEY)
            ],
        }
    )


def mlflow_body(run_id: str, first_step: int) -> bytes:
    now = int(time.time() * 1000)
    per_key = 1_000 // KEYS
    return orjson.dumps(
        {
            "run_id": run_id,
            "metrics": [
                {"key": f"train/metric_{k}", "value": 0.5 + 1e-4 * s, "step": s, "timestamp": now}
                for k in range(KEYS)
                for s in range(first_step, first_step + per_key)
            ],
        }
    )


# ---------------------------------------------------------------- Trackboard end to end


@dataclass
class Sent:
    """Per client: cumulative points after each acknowledged batch, and when it was."""

    acks: list[tuple[int, float]] = field(default_factory=list)
    points: int = 0
    refused: int = 0


async def client_loop(
    http: httpx.AsyncClient,
    run_id: str,
    seconds: float,
    sent: Sent,
    form: str,
    interval_s: float | None = None,
) -> None:
    """Send batches back to back, or one every `interval_s` (a paced client)."""
    deadline = time.monotonic() + seconds
    step = 0
    make = columns_body if form == "columns" else rows_body
    next_send = time.monotonic()
    while time.monotonic() < deadline:
        if interval_s is not None:
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            next_send += interval_s
        body = make(uuid.uuid4().hex, step)
        while True:
            response = await http.post(
                f"/api/v1/runs/{run_id}/metrics",
                content=body,
                headers={"content-type": "application/json"},
            )
            if response.status_code in (200, 202):
                break
            assert response.status_code == 503, response.text
            sent.refused += 1
            await asyncio.sleep(0.05)
        step += STEPS_PER_KEY
        sent.points += KEYS * STEPS_PER_KEY
        sent.acks.append((sent.points, time.monotonic()))


async def poll_visible(
    database_url: str, run_ids: list[str], stop: asyncio.Event
) -> dict[str, list[tuple[int, float]]]:
    """Per run, (points readable, when) every POLL_S: what a dashboard poll would see."""
    connection = await asyncpg.connect(database_url)
    seen: dict[str, list[tuple[int, float]]] = {run_id: [] for run_id in run_ids}
    try:
        while not stop.is_set():
            rows = await connection.fetch(
                "SELECT run_id, sum(count)::bigint AS n FROM metric_summaries "
                "WHERE run_id = ANY($1) GROUP BY run_id",
                run_ids,
            )
            now = time.monotonic()
            for row in rows:
                seen[row["run_id"]].append((int(row["n"]), now))
            await asyncio.sleep(POLL_S)
    finally:
        await connection.close()
    return seen


def freshness(sent: Sent, seen: list[tuple[int, float]]) -> list[float]:
    delays = []
    index = 0
    for cumulative, acked_at in sent.acks:
        while index < len(seen) and seen[index][0] < cumulative:
            index += 1
        if index < len(seen):
            delays.append(max(0.0, seen[index][1] - acked_at))
    return delays


async def create_runs(http: httpx.AsyncClient, count: int) -> list[str]:
    response = await http.post("/api/v1/experiments", json={"name": f"bench-{uuid.uuid4().hex}"})
    response.raise_for_status()
    experiment_id = response.json()["id"]
    runs = []
    for _ in range(count):
        response = await http.post(f"/api/v1/experiments/{experiment_id}/runs", json={})
        response.raise_for_status()
        runs.append(response.json()["id"])
    return runs


async def trackboard_round(
    url: str, database_url: str, seconds: float, rate: float | None = None
) -> dict[str, Any]:
    """4 clients at full speed, or together offering `rate` points/s."""
    interval_s = None if rate is None else CLIENTS * KEYS * STEPS_PER_KEY / rate
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        run_ids = await create_runs(http, CLIENTS)
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_visible(database_url, run_ids, stop))
        sents = [Sent() for _ in run_ids]
        started = time.monotonic()
        await asyncio.gather(
            *[
                client_loop(http, run_id, seconds, sent, "columns", interval_s)
                for run_id, sent in zip(run_ids, sents, strict=True)
            ]
        )
        accepted_s = time.monotonic() - started
        total = sum(s.points for s in sents)
        connection = await asyncpg.connect(database_url)
        try:
            while True:
                stored = await connection.fetchval(
                    "SELECT coalesce(sum(count), 0)::bigint FROM metric_summaries "
                    "WHERE run_id = ANY($1)",
                    run_ids,
                )
                if stored >= total:
                    break
                await asyncio.sleep(0.01)
        finally:
            await connection.close()
        durable_s = time.monotonic() - started
        stop.set()
        seen = await poller
    delays = [d for sent, r in zip(sents, run_ids, strict=True) for d in freshness(sent, seen[r])]
    return {
        "points": total,
        "accepted_per_s": total / accepted_s,
        "durable_per_s": total / durable_s,
        "freshness": delays,
        "refused": sum(s.refused for s in sents),
    }


async def storage_bytes_per_point(database_url: str, baseline: int = 0) -> tuple[float, int]:
    """Bytes a stored point over the point tables, less `baseline` bytes (what they take
    empty), and the number of points."""
    size, points = await storage_bytes(database_url)
    return (size - baseline) / max(points, 1), points


async def storage_bytes(database_url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(database_url)
    try:
        # VACUUM FULL rewrites the tables: the size of the live rows, without the space
        # that deleted (compacted) rows leave for autovacuum to hand to later inserts.
        await connection.execute("VACUUM FULL metric_chunks, metric_summaries, applied_batches")
        size = await connection.fetchval(
            # A partitioned table (metric_chunks, migration 0011) has no storage of its own.
            "SELECT sum(pg_total_relation_size(t) + coalesce((SELECT sum("
            "pg_total_relation_size(relid)) FROM pg_partition_tree(t) WHERE isleaf), 0)) "
            "FROM unnest(ARRAY['metric_chunks', 'metric_summaries', 'applied_batches']"
            "::regclass[]) AS t"
        )
        points = await connection.fetchval(
            "SELECT coalesce(sum(point_count), 0) FROM metric_chunks"
        )
    finally:
        await connection.close()
    return int(size), int(points)


async def small_write_storage(database_url: str) -> tuple[float, float, float]:
    """Bytes a point when every write carries 10 points of one key (a slow trickle):
    as written, after background compaction, and after compaction without batch ids."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import text

    from trackboard.server.backends.database import Database
    from trackboard.server.metrics.ingest.message import IngestMessage
    from trackboard.server.metrics.ingest.upkeep import compact_series
    from trackboard.server.metrics.ingest.writer import write_messages
    from trackboard.server.metrics.points import Points

    database = Database.connect(database_url)
    try:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute("TRUNCATE metric_chunks, metric_summaries, applied_batches")
            run_id = await connection.fetchval("SELECT id FROM runs LIMIT 1")
            experiment_id = await connection.fetchval(
                "SELECT experiment_id FROM runs WHERE id = $1", run_id
            )
        finally:
            await connection.close()
        # The empty tables' own pages (each of metric_chunks' 16 partitions has index
        # pages even when empty) are the same for 10 points as for 10 million: left out.
        baseline, _ = await storage_bytes(database_url)
        for i in range(1_000):
            steps = np.arange(i * 10, i * 10 + 10, dtype=np.int64)
            points = Points(steps, steps + 1_700_000_000_000, np.linspace(0, 1, 10))
            message = IngestMessage(run_id, experiment_id, uuid.uuid4().hex, {"loss": points}, 0)
            await write_messages(database, [message])
        small, _ = await storage_bytes_per_point(database_url, baseline)
        async with database.transaction() as session:
            await compact_series(session, run_id, "loss")
        compacted, _ = await storage_bytes_per_point(database_url, baseline)
        async with database.transaction() as session:
            await session.execute(text("TRUNCATE applied_batches"))
        without_ids, _ = await storage_bytes_per_point(database_url, baseline)
    finally:
        await database.dispose()
    return small, compacted, without_ids


# ---------------------------------------------------------------- raw COPY, the limit


async def raw_copy_round(database_url: str, seconds: float) -> float:
    """One row a point via binary COPY from 4 connections into an unindexed table."""
    setup = await asyncpg.connect(database_url)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_points; CREATE UNLOGGED TABLE bench_points_tmp(x int);"
        "DROP TABLE bench_points_tmp;"
        "CREATE TABLE bench_points (run_id text, key text, step bigint, ts bigint, value float8)"
    )
    await setup.close()
    run_id = uuid.uuid4().hex
    now = int(time.time() * 1000)
    records = [
        (run_id, f"train/metric_{k}", s, now + s, 0.5 + 1e-4 * s)
        for k in range(KEYS)
        for s in range(STEPS_PER_KEY)
    ]

    async def copier() -> int:
        connection = await asyncpg.connect(database_url)
        copied = 0
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                await connection.copy_records_to_table(
                    "bench_points",
                    records=records,
                    columns=["run_id", "key", "step", "ts", "value"],
                )
                copied += len(records)
        finally:
            await connection.close()
        return copied

    started = time.monotonic()
    copied = sum(await asyncio.gather(*[copier() for _ in range(CLIENTS)]))
    rate = copied / (time.monotonic() - started)
    cleanup = await asyncpg.connect(database_url)
    await cleanup.execute("DROP TABLE bench_points")
    await cleanup.close()
    return rate


# ---------------------------------------------------------------- MLflow, the peer


async def mlflow_round(url: str, seconds: float) -> float:
    api = f"{url}/api/2.0/mlflow"
    async with httpx.AsyncClient(timeout=120) as http:
        response = await http.post(
            f"{api}/experiments/create", json={"name": f"bench-{uuid.uuid4().hex}"}
        )
        response.raise_for_status()
        experiment_id = response.json()["experiment_id"]
        run_ids = []
        for _ in range(CLIENTS):
            response = await http.post(
                f"{api}/runs/create",
                json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)},
            )
            response.raise_for_status()
            run_ids.append(response.json()["run"]["info"]["run_id"])
        logged = [0] * CLIENTS

        async def client(index: int) -> None:
            deadline = time.monotonic() + seconds
            step = 0
            while time.monotonic() < deadline:
                body = mlflow_body(run_ids[index], step)
                response = await http.post(
                    f"{api}/runs/log-batch",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                response.raise_for_status()
                step += 1_000 // KEYS
                logged[index] += 1_000

        started = time.monotonic()
        await asyncio.gather(*[client(i) for i in range(CLIENTS)])
        # The window closes when the last request in flight at the deadline answered.
        return sum(logged) / (time.monotonic() - started)


# ---------------------------------------------------------------- wire-format parse cost


def parse_cost() -> dict[str, float]:
    """Microseconds to parse and validate one 10,000-point request, each wire form."""
    sys.path.insert(0, str(ROOT / "src"))
    from trackboard.server.metrics.ingest.parse import parse_batch_body

    results = {}
    for form, make in (("columns", columns_body), ("rows", rows_body)):
        body = make("b", 0)
        timings = []
        for _ in range(15):
            # CPU time, not wall time: the machine is shared and waiting is not parsing.
            started = time.process_time()
            parse_batch_body(body)
            timings.append(time.process_time() - started)
        results[form] = statistics.median(timings) * 1e6
    return results


# ---------------------------------------------------------------- orchestration


def ensure_mlflow() -> bool:
    """MLflow in a venv of its own under .bench/ (its pins clash with ours)."""
    if MLFLOW_BIN.exists():
        return True
    uv = BIN / "uv"
    venv = MLFLOW_BIN.parent.parent
    try:
        subprocess.run([str(uv), "venv", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            [
                str(uv),
                "pip",
                "install",
                "--python",
                str(venv / "bin" / "python"),
                "mlflow==3.17.2",
                "psycopg2-binary",
            ],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"cannot install MLflow for the comparison: {error}", file=sys.stderr)
        return False
    return MLFLOW_BIN.exists()


def machine() -> str:
    uname = platform.uname()
    return f"{uname.system} {uname.release} {uname.machine}, nproc={os.cpu_count()}"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def migrate(database_url: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from trackboard.server.backends.database import create_engine
    from trackboard.server.migrate import upgrade_database

    engine = create_engine(database_url)
    await upgrade_database(engine)
    await engine.dispose()


def run_mlflow(mlflow_db: str, logs: Path, args: argparse.Namespace) -> list[float]:
    rates = []
    mlflow_port = free_port()
    with process(
        [
            str(MLFLOW_BIN),
            "server",
            "--backend-store-uri",
            f"postgresql+psycopg2://postgres@127.0.0.1:5432/{mlflow_db}",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
        ],
        {"MLFLOW_HOME": str(logs)},
        logs / "mlflow.log",
    ):
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        # Its default 4 workers import slowly on a busy 2-core machine.
        wait_http(f"{mlflow_url}/health", 900)
        asyncio.run(mlflow_round(mlflow_url, 2.0))  # warm up its workers
        for i in range(args.runs):
            rate = asyncio.run(mlflow_round(mlflow_url, args.seconds))
            rates.append(rate)
            print(f"mlflow run {i + 1}: {rate:,.0f} points/s", flush=True)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    db, mlflow_db, vhost = f"tb_bench_{tag}", f"tb_bench_mlflow_{tag}", f"tb-bench-{tag}"
    database_url = f"{PG}/{db}"
    logs = ROOT / ".bench" / f"ingest-{tag}"
    logs.mkdir(parents=True, exist_ok=True)
    asyncio.run(admin(f'CREATE DATABASE "{db}"'))
    asyncio.run(admin(f'CREATE DATABASE "{mlflow_db}"'))
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    results: dict[str, Any] = {"tb": [], "paced": [], "copy": [], "mlflow": []}
    parse = parse_cost()
    succeeded = False
    try:
        asyncio.run(migrate(database_url))
        port = free_port()
        env = {
            "TRACKBOARD_DATABASE_URL": database_url,
            "TRACKBOARD_AMQP_URL": f"{AMQP}/{vhost}",
            "TRACKBOARD_LOG_LEVEL": "WARNING",
            "TRACKBOARD_WORKER_METRICS_PORT": "0",
            "TRACKBOARD_HOME": str(logs),
        }
        trackboard = str(BIN / "trackboard")
        with ExitStack() as stack:
            stack.enter_context(
                process(
                    [trackboard, "server", "--port", str(port), "--workers", str(args.api_workers)],
                    env,
                    logs / "server.log",
                )
            )
            stack.enter_context(process([trackboard, "worker"], env, logs / "worker.log"))
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/healthz", 300)
            asyncio.run(trackboard_round(url, database_url, 1.0))  # warm up
            for i in range(args.runs):
                result = asyncio.run(trackboard_round(url, database_url, args.seconds))
                results["tb"].append(result)
                print(
                    f"trackboard run {i + 1}: {result['durable_per_s']:,.0f} points/s durable "
                    f"({result['accepted_per_s']:,.0f} accepted), freshness p99 "
                    f"{pct(result['freshness'], 99):.3f} s, refused {result['refused']}",
                    flush=True,
                )
            for i in range(args.runs):
                result = asyncio.run(
                    trackboard_round(url, database_url, args.seconds, PACED_POINTS_PER_S)
                )
                results["paced"].append(result)
                print(
                    f"paced run {i + 1}: {result['durable_per_s']:,.0f} points/s durable, "
                    f"freshness p50 {pct(result['freshness'], 50):.3f} s, "
                    f"p99 {pct(result['freshness'], 99):.3f} s",
                    flush=True,
                )
        bytes_big, stored = asyncio.run(storage_bytes_per_point(database_url))
        for i in range(args.runs):
            rate = asyncio.run(raw_copy_round(database_url, args.seconds))
            results["copy"].append(rate)
            print(f"raw COPY run {i + 1}: {rate:,.0f} points/s", flush=True)
        small = asyncio.run(small_write_storage(database_url))
        if not args.no_mlflow and ensure_mlflow():
            try:
                results["mlflow"] = run_mlflow(mlflow_db, logs, args)
            except RuntimeError as error:
                print(f"MLflow was not measured: {error}", file=sys.stderr)
        succeeded = True
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{mlflow_db}" WITH (FORCE)'))
        rabbitmqctl("delete_vhost", vhost)
        if succeeded:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"logs kept in {logs}", file=sys.stderr)
    report(results, bytes_big, stored, small, parse, args, load_at_start)


def report(
    results: dict[str, Any],
    bytes_big: float,
    stored: int,
    small: tuple[float, float, float],
    parse: dict[str, float],
    args: argparse.Namespace,
    load_at_start: float,
) -> None:
    tb = statistics.median(r["durable_per_s"] for r in results["tb"])
    accepted = statistics.median(r["accepted_per_s"] for r in results["tb"])
    copy = statistics.median(results["copy"])
    mlflow = statistics.median(results["mlflow"]) if results["mlflow"] else float("nan")
    p50 = statistics.median(pct(r["freshness"], 50) for r in results["tb"])
    p99 = statistics.median(pct(r["freshness"], 99) for r in results["tb"])
    paced = statistics.median(r["durable_per_s"] for r in results["paced"])
    paced_p50 = statistics.median(pct(r["freshness"], 50) for r in results["paced"])
    paced_p99 = statistics.median(pct(r["freshness"], 99) for r in results["paced"])
    lines = [
        "| figure | value | target |",
        "|---|---|---|",
        f"| end to end, durable in PostgreSQL, 4 clients | {tb:,.0f} points/s "
        f"| ≥ {TARGET_POINTS_PER_S:,} |",
        f"| accepted by the API (202) | {accepted:,.0f} points/s | |",
        f"| raw binary COPY, one row a point, 4 connections | {copy:,.0f} points/s | (limit) |",
        f"| fraction of raw COPY reached | {tb / copy:.0%} | ≥ {TARGET_COPY_FRACTION:.0%} |",
        f"| MLflow 3.17.2 log-batch (1,000 metrics), 4 clients | {mlflow:,.0f} points/s | |",
        f"| Trackboard / MLflow | {tb / mlflow:.1f}x | ≥ 20x |",
        f"| freshness (202 → readable) at {PACED_POINTS_PER_S:,} points/s offered "
        f"(durable: {paced:,.0f}/s), p50 / p99 | {paced_p50 * 1000:.0f} ms / "
        f"{paced_p99 * 1000:.0f} ms | |",
        f"| freshness at full speed (the clients may outrun the worker; the queue grows until "
        f"back-pressure), p50 / p99 | {p50 * 1000:.0f} ms / {p99 * 1000:.0f} ms | p99 ≤ 2 s |",
        f"| storage, bulk writes ({stored:,} points) | {bytes_big:.1f} B/point | ≤ 24 |",
        f"| storage, 1,000 writes of 10 points, as written | {small[0]:.1f} B/point | |",
        f"| same after background compaction (live rows) | {small[1]:.1f} B/point "
        f"({small[2]:.1f} without the 1,000 batch ids) | ≤ 24 |",
        f"| parse + validate 10,000 points, columns form (CPU) | {parse['columns'] / 1000:.1f} ms "
        "| |",
        f"| parse + validate 10,000 points, rows form (CPU) | {parse['rows'] / 1000:.1f} ms | |",
    ]
    table = "\n".join(lines)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "# Ingestion benchmark\n\n"
        "Written by `python bench/ingest.py` "
        f"(--runs {args.runs} --seconds {args.seconds:g} --api-workers {args.api_workers}).\n"
        f"Measured {stamp} on {machine()}, PostgreSQL 15, RabbitMQ 3.10 on loopback, "
        "clients, API, worker and both servers on the same 2 cores (1-minute load average "
        f"at the start: {load_at_start:.1f}, at the end: {os.getloadavg()[0]:.1f}). "
        f"Medians of {args.runs} runs; each request carries {KEYS} keys x "
        f"{STEPS_PER_KEY:,} steps in the columnar form.\n\n"
        f"{table}\n\n"
        "Per run (durable points/s): "
        + ", ".join(f"{r['durable_per_s']:,.0f}" for r in results["tb"])
        + "; freshness p99 at the paced rate: "
        + ", ".join(f"{pct(r['freshness'], 99) * 1000:.0f} ms" for r in results["paced"])
        + "; raw COPY: "
        + ", ".join(f"{r:,.0f}" for r in results["copy"])
        + "; MLflow: "
        + ", ".join(f"{r:,.0f}" for r in results["mlflow"])
        + ".\n"
    )
    REPORT.write_text(text)
    print(table)


if __name__ == "__main__":
    main()
