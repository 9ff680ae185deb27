"""Seed scale (issue 18 §1, §3): load N experiments, runs and metric points through the real
ingestion path and measure the load, the storage and the query table.

    nice -n 10 .venv/bin/python -m bench.scale --scale 0.001 [--resume .bench/scale/state.json]

`--scale 1.0` is the seed's size: 10,000 experiments, 1,000,000 runs, about 1,000,000,000
points (see bench/scale_plan.py). Starts on loopback a database and a RabbitMQ vhost of its
own, `trackboard server` (`--api-workers` processes) and `--workers` `trackboard worker`
processes; clients post runs and batches of up to 10,000 points to the v1 API, which queues
them for the workers to write. Stages (experiments, runs, points, drain, storage, queries
before VACUUM/ANALYZE, VACUUM/ANALYZE, queries after) save their progress to the state
file; after an interruption `--resume` picks up at the last checkpoint with the same
database. The database and vhost are dropped at the end unless `--keep`; an interrupted
load keeps them.
Writes the "Scale load" section of docs/benchmarks-scale.md (unless --no-write).

With `--queries-only`, the load of `--state` (kept with `--keep`) is measured again by a
server of the current code (`--only` some rows, `--save` them, `--before`: a saved run beside
them), which writes the "Scale queries" section instead.
"""

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from rich.progress import Progress

from bench.ingest import AMQP, BIN, PG, admin, free_port, process, rabbitmqctl, wait_http
from bench.report import write_section
from bench.retention import SCALE_HEADER, SCALE_MD
from bench.scale_load import (
    POINT_TABLES,
    RUN_TABLES,
    RUNS_PER_REQUEST,
    State,
    create_experiments,
    create_runs,
    log_points,
    measure_storage,
    progress_bar,
    vacuum_analyze,
    wait_until_stored,
    wal_lsn,
)
from bench.scale_plan import Plan
from bench.scale_queries import QueryRow, query_table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE = ROOT / ".bench" / "scale" / "state.json"


async def run_stages(
    http: httpx.AsyncClient,
    dsn: str,
    plan: Plan,
    state: State,
    *,
    clients: int,
    repeats: int,
    drain_timeout_s: float,
    progress: Progress,
) -> None:
    """Every stage not yet in `state.stages_done`, in order; `dsn` is the database's
    (plain `postgresql://`)."""

    async def stage(name: str, work: Any) -> None:
        if name in state.stages_done:
            return
        started = time.perf_counter()
        await work()
        state.measures.setdefault("stage_seconds", {})[name] = time.perf_counter() - started
        state.stages_done.append(name)
        state.save()

    async def start() -> None:
        state.measures["wal_start"] = await wal_lsn(dsn)

    async def drain() -> None:
        total = sum(plan.expected_points().values())
        stored = await wait_until_stored(dsn, total, drain_timeout_s, poll_s=1.0)
        if stored != total:
            raise RuntimeError(f"{stored:,} points stored of {total:,} after {drain_timeout_s} s")
        # Accepted, then durable: the points stage plus the wait for the queue to drain.
        state.measures["durable_seconds"] = state.points_seconds + (
            time.perf_counter() - drain_started
        )

    async def storage() -> None:
        state.measures["storage"] = await measure_storage(dsn, state.measures["wal_start"])

    def queries(key: str) -> Any:
        async def work() -> None:
            rows = await query_table(http, plan, state.experiment_ids, repeats)
            state.measures[key] = [
                {"name": r.name, "samples_ms": r.samples_ms, "target_ms": r.target_ms} for r in rows
            ]

        return work

    async def vacuum() -> None:
        state.measures["vacuum"] = await vacuum_analyze(dsn)

    with progress:
        await stage("start", start)
        await stage("experiments", lambda: create_experiments(http, plan, state))
        await stage("runs", lambda: create_runs(http, plan, state, clients, progress))
        await stage("points", lambda: log_points(http, plan, state, clients, progress))
        drain_started = time.perf_counter()
        await stage("drain", drain)
        await stage("storage", storage)
        await stage("queries_before", queries("queries_before"))
        await stage("vacuum", vacuum)
        await stage("queries_after", queries("queries_after"))
    state.measures.setdefault("load_end", os.getloadavg()[0])
    state.save()


# ---------------------------------------------------------------- the report


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def rate_rows(accepted: list[tuple[float, int]], segments: int = 10) -> list[str]:
    """Points accepted per second over `segments` stretches of the points stage."""
    rows = []
    step = max(1, len(accepted) // segments)
    previous = (0.0, 0)
    for index in range(step - 1, len(accepted), step):
        now = accepted[index]
        seconds = now[0] - previous[0]
        rows.append(
            f"| {previous[0]:,.0f}-{now[0]:,.0f} s | {now[1]:,} | "
            f"{(now[1] - previous[1]) / max(seconds, 1e-9):,.0f} |"
        )
        previous = now
    return rows


def query_rows(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| query | before: samples, p50 / p95 ms | after: samples, p50 / p95 ms | target ms (p95) "
        "| after |",
        "|---|---:|---:|---:|---|",
    ]
    for old, new in zip(before, after, strict=True):
        first, second = QueryRow(**old), QueryRow(**new)
        target = second.target_ms
        verdict = "" if target is None else ("met" if second.p95 <= target else "missed")
        lines.append(
            f"| {second.name} | {first.summary()} | {second.summary()} | "
            f"{'' if target is None else f'{target:.0f}'} | {verdict} |"
        )
    return lines


def report(plan: Plan, state: State, args: argparse.Namespace) -> str:
    measures = state.measures
    stored = measures["storage"]
    tables = stored["tables"]
    point_bytes = sum(tables[t] for t in POINT_TABLES)
    run_bytes = sum(tables[t] for t in RUN_TABLES)
    seconds = measures["stage_seconds"]
    points = stored["points"]
    end = f", {measures['load_end']:.1f} at the end" if "load_end" in measures else ""
    lines = [
        f"Command: `nice -n 10 python -m bench.scale --scale {plan.scale:g} --api-workers "
        f"{args.api_workers} --workers {args.workers} --clients {args.clients} --repeats "
        f"{args.repeats}` (load average {state.extra['load_start']:.1f} at the start{end}: "
        "a shared machine; PostgreSQL 15, autovacuum off on this server).",
        "",
        f"Scale {plan.scale:g} of the seed: {len(plan.experiment_runs):,} experiments "
        f"(the largest {plan.experiment_runs[0]:,} runs, the smallest "
        f"{plan.experiment_runs[-1]:,}), {stored['runs']:,} runs with 10-30 params, 5-10 tags "
        f"and {stored['series']:,} series in all, {points:,} points: three series of "
        f"{plan.long_series_points:,} points, the rest {plan.points_per_run:,} a run spread "
        "over its keys. Runs go to `POST /api/v1/experiments/{id}/runs:batch`, "
        f"{RUNS_PER_REQUEST} of one experiment a request (params and tags in the body, "
        "created with their final status), points as batches of at most 10,000 "
        "(one a run; the long series in 10,000-point pieces) to "
        "`POST /api/v1/runs/{id}/metrics` → RabbitMQ → the workers → PostgreSQL, from "
        f"{args.clients} concurrent clients in one process (a 503 waits its Retry-After). "
        "The database is migrated to the head: `metric_chunks` is hash-partitioned by run "
        "(migration 0011).",
        "",
        "| stage | time | rate |",
        "|---|---:|---:|",
        f"| experiments | {seconds['experiments']:.1f} s | "
        f"{len(plan.experiment_runs) / seconds['experiments']:,.0f} /s |",
        f"| runs | {seconds['runs']:.1f} s | {stored['runs'] / seconds['runs']:,.0f} runs/s |",
        f"| points accepted (202) | {state.points_seconds:.1f} s | "
        f"{points / state.points_seconds:,.0f} points/s |",
        f"| points durable (last one stored) | {measures['durable_seconds']:.1f} s | "
        f"{points / measures['durable_seconds']:,.0f} points/s |",
        f"| plain VACUUM, whole database | {measures['vacuum']['VACUUM']:.1f} s | |",
        f"| ANALYZE, whole database | {measures['vacuum']['ANALYZE']:.1f} s | |",
        "",
        "Points accepted over the points stage (does the rate fall as the tables grow?). "
        "The queue holds at most `TRACKBOARD_INGEST_MAX_QUEUE_DEPTH` batches (2,000 by "
        "default; past it the API answers 503), so the accepted rate cannot run ahead of the "
        "written one for long; the durable row above is the written rate:",
        "",
        "| stretch | points accepted by its end | points/s |",
        "|---|---:|---:|",
        *rate_rows(state.accepted_over_time),
        "",
        "Storage after the load (`pg_total_relation_size`: table, indexes, TOAST; of "
        "metric_chunks, the sum over its partitions):",
        "",
        "| table | size |",
        "|---|---:|",
        *[f"| {table} | {mib(size)} |" for table, size in tables.items()],
        f"| whole database (`pg_database_size`) | {mib(stored['database_bytes'])} |",
        "",
        f"Per point ({', '.join(POINT_TABLES)}): **{point_bytes / max(points, 1):.1f} bytes**; "
        f"per run ({', '.join(RUN_TABLES)}): **{run_bytes / max(stored['runs'], 1):,.0f} "
        f"bytes**. WAL written from the first experiment to the end of the drain "
        f"(`pg_current_wal_lsn` difference): {mib(stored['wal_bytes'])}, "
        f"{stored['wal_bytes'] / max(points, 1):.1f} bytes a point; it is the whole "
        "server's, so it includes what other databases on this shared PostgreSQL wrote "
        "meanwhile.",
        "",
        f"Query table: each query {args.repeats} times in a row over HTTP (latency until the "
        "last byte), first before any VACUUM or ANALYZE of the new data (what a user sees "
        "while autovacuum has not caught up), then after them. The search shapes are those of "
        "`bench/search_shapes.py`; the project search names all experiments of project 0 "
        "(at most 1,000, the API's limit). The run page asks for the run and 4 histories at "
        "once; the experiments page is one request, the list with each experiment's run "
        "counts (kept in `experiment_run_counts`, migration 0012); its samples and the "
        "aggregation's are each a cache miss.",
        "",
        *query_rows(measures["queries_before"], measures["queries_after"]),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- processes


def new_state(args: argparse.Namespace) -> State:
    tag = uuid.uuid4().hex[:8]
    state = State(args.state, args.scale, args.seed)
    state.extra = {
        "database": f"tb_scale_{tag}",
        "vhost": f"tb-scale-{tag}",
        "logs": str(ROOT / ".bench" / f"scale-{tag}"),
        "load_start": os.getloadavg()[0],
    }
    asyncio.run(admin(f'CREATE DATABASE "{state.extra["database"]}"'))
    rabbitmqctl("add_vhost", state.extra["vhost"])
    rabbitmqctl("set_permissions", "-p", state.extra["vhost"], "guest", ".*", ".*", ".*")
    asyncio.run(migrate(f"{PG}/{state.extra['database']}"))
    state.save()
    return state


async def migrate(dsn: str) -> None:
    from trackboard.server.backends.database import create_engine
    from trackboard.server.migrate import upgrade_database

    engine = create_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


def drop(state: State) -> None:
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{state.extra["database"]}" WITH (FORCE)'))
    rabbitmqctl("delete_vhost", state.extra["vhost"])
    shutil.rmtree(state.extra["logs"], ignore_errors=True)
    if state.path is not None:
        state.path.unlink(missing_ok=True)


def server_env(state: State, logs: Path) -> dict[str, str]:
    return {
        "TRACKBOARD_DATABASE_URL": f"{PG}/{state.extra['database']}",
        "TRACKBOARD_AMQP_URL": f"{AMQP}/{state.extra['vhost']}",
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_WORKER_METRICS_PORT": "0",
        "TRACKBOARD_HOME": str(logs),
    }


def server_cpu_seconds(server: subprocess.Popen[bytes], database: str) -> float:
    """CPU seconds used so far by the API server's processes and by PostgreSQL's backends of
    `database` (found by their process titles; a backend that has exited is not counted)."""
    processes = process_tree(server.pid)
    processes += [
        p for p in psutil.process_iter(["cmdline"]) if database in " ".join(p.info["cmdline"] or [])
    ]
    return cpu_seconds(processes)


def process_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes so far (one that has exited counts 0)."""
    total = 0.0
    for process_ in processes:
        try:
            times = process_.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def requery(args: argparse.Namespace) -> None:
    """The query table over a kept load, against a server of the code as it is now; with
    `--before`, beside the rows of an earlier `--save`."""
    state = State.load(args.state)
    plan = Plan.at(state.scale, state.seed)
    asyncio.run(migrate(f"{PG}/{state.extra['database']}"))
    logs = Path(state.extra["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = [str(BIN / "trackboard"), "server", "--port", str(port)]
    server += ["--workers", str(args.api_workers)]
    load_start = os.getloadavg()[0]
    with process(server, server_env(state, logs), logs / "requery.log") as child:
        wait_http(f"{url}/healthz", 300)

        def cpu() -> float:
            return server_cpu_seconds(child, state.extra["database"])

        async def go() -> list[QueryRow]:
            async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                return await query_table(
                    http, plan, state.experiment_ids, args.repeats, only=args.only, cpu=cpu
                )

        rows = asyncio.run(go())
    load_end = os.getloadavg()[0]
    if args.save:
        args.save.write_text(json.dumps([dataclasses.asdict(row) for row in rows], indent=1))
    before = {}
    if args.before:
        before = {r["name"]: QueryRow(**r) for r in json.loads(args.before.read_text())}
    lines = [
        f"Command: `nice -n 10 python -m bench.scale --queries-only --scale {plan.scale:g} "
        f"--api-workers {args.api_workers} --repeats {args.repeats}` over a load kept by "
        f"`--keep` (scale {plan.scale:g}, seed {plan.seed}: with the seed of the load above, "
        f"the same experiments, runs and series; load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end). Each query one request after another, latency until "
        "the last byte; the database was VACUUMed and ANALYZEd after the load, then migrated "
        "to the head. `before`: an earlier `--save`d run (`--before`). CPU: the server's "
        "processes and the "
        "database's PostgreSQL backends, per request (what a request costs whatever else "
        "the shared machine runs).",
        "",
        "| query | before: samples, p50 / p95 ms | now: samples, p50 / p95 ms | now: CPU ms "
        "| target ms (p95) | now |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        earlier = before[row.name].summary() if row.name in before else ""
        target = "" if row.target_ms is None else f"{row.target_ms:.0f}"
        verdict = "" if row.target_ms is None else ("met" if row.p95 <= row.target_ms else "missed")
        cpu_ms = "" if row.cpu_ms is None else f"{row.cpu_ms:.1f}"
        lines.append(
            f"| {row.name} | {earlier} | {row.summary()} | {cpu_ms} | {target} | {verdict} |"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Scale queries", text, path=SCALE_MD, header=SCALE_HEADER)
        print(f"wrote {SCALE_MD}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--drain-timeout-s", type=float, default=3600)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE)
    parser.add_argument("--resume", action="store_true", help="continue the load in --state")
    parser.add_argument("--keep", action="store_true", help="keep the database and vhost")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="only measure the query table again on the kept load in --state (migrated to the "
        'head first) and write its "Scale queries" section',
    )
    parser.add_argument("--only", default="", help="with --queries-only: rows whose name has it")
    parser.add_argument("--save", type=Path, help="with --queries-only: keep the rows as JSON")
    parser.add_argument("--before", type=Path, help="with --queries-only: rows --save kept")
    args = parser.parse_args()
    if args.queries_only:
        requery(args)
        return
    if args.resume:
        state = State.load(args.state)
        if (state.scale, state.seed) != (args.scale, args.seed):
            sys.exit(f"{args.state} is a load at scale {state.scale:g}, seed {state.seed}")
    else:
        state = new_state(args)
    plan = Plan.at(args.scale, args.seed)
    dsn = f"{PG}/{state.extra['database']}"
    logs = Path(state.extra["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    env = server_env(state, logs)
    trackboard = str(BIN / "trackboard")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        server = [trackboard, "server", "--port", str(port), "--workers", str(args.api_workers)]
        stack.enter_context(process(server, env, logs / "server.log"))
        for i in range(args.workers):
            stack.enter_context(process([trackboard, "worker"], env, logs / f"worker-{i}.log"))
        wait_http(f"{url}/healthz", 300)

        async def go() -> None:
            limits = httpx.Limits(max_connections=args.clients + 8)
            async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
                await run_stages(
                    http,
                    dsn,
                    plan,
                    state,
                    clients=args.clients,
                    repeats=args.repeats,
                    drain_timeout_s=args.drain_timeout_s,
                    progress=progress_bar(quiet=False),
                )

        try:
            asyncio.run(go())
        except BaseException:
            print(f"interrupted: resume with --resume --state {args.state}", file=sys.stderr)
            raise
    text = report(plan, state, args)
    print(text)
    if not args.no_write:
        write_section("Scale load", text, path=SCALE_MD, header=SCALE_HEADER)
        print(f"wrote {SCALE_MD}")
    if not args.keep:
        drop(state)


if __name__ == "__main__":
    main()
