"""Partitioned or not (issue 18 §2): metric_chunks as migration 0010 left it and hash-partitioned
by run (0011), side by side on the same data, measured in one run.

    nice -n 10 .venv/bin/python -m bench.scale_partitions [--runs 5000 --keys 12 --rounds 3]

Each round: two new databases on the local PostgreSQL, one migrated to 0010, one to the
head. The same points go to both through the ingest writer (`write_messages`: applied batch
ids, COPY of the chunks, summary upsert, one transaction a write of 20 runs), the writes
alternating between the two so that the machine's load falls on both alike. Then ANALYZE,
the plan and the latency of a series read (what a history request runs; the layouts taking
turns), and on each in turn the scan that looks for fragmented series (every chunk), the
size, deleting a tenth of the runs (the cascade) and a plain VACUUM. Figures are medians
over the rounds. Writes the "Partitioning" section of docs/benchmarks-scale.md.
"""

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy import insert

from bench.ingest import PG, admin
from bench.report import median, percentile, write_section
from bench.retention import SCALE_HEADER, SCALE_MD
from trackboard.server.backends.database import Database, create_engine
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.writer import write_messages
from trackboard.server.metrics.points import Points
from trackboard.server.migrate import upgrade_database
from trackboard.server.models import Experiment, Run

LAYOUTS = {"unpartitioned (0010)": "0010_saved_views", "partitioned (0011)": "head"}
RUNS_PER_WRITE = 20
READ = "SELECT data FROM metric_chunks WHERE run_id = $1 AND key = $2 ORDER BY min_step"
FRAGMENTED = (
    "SELECT run_id, key, count(*) FROM metric_chunks WHERE point_count < 256 "
    "GROUP BY run_id, key HAVING count(*) >= 8"
)
SIZE = (
    "SELECT pg_total_relation_size('metric_chunks') + coalesce((SELECT "
    "sum(pg_total_relation_size(relid)) FROM pg_partition_tree('metric_chunks') "
    "WHERE isleaf), 0)"
)


async def create(name: str, revision: str, run_ids: list[str]) -> str:
    await admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    engine = create_engine(url)
    try:
        await upgrade_database(engine, revision)
        async with engine.begin() as connection:
            await connection.execute(
                insert(Experiment).values(id=1, name="p", creation_time=0, last_update_time=0)
            )
            await connection.execute(
                insert(Run),
                [
                    {
                        "id": r,
                        "experiment_id": 1,
                        "name": r[:8],
                        "status": "FINISHED",
                        "start_time": 0,
                        "user": "bench",
                    }
                    for r in run_ids
                ],
            )
    finally:
        await engine.dispose()
    return url


def messages(run_ids: list[str], keys: int, points: int, seed: int) -> list[IngestMessage]:
    rng = np.random.default_rng(seed)
    steps = np.arange(points, dtype=np.int64)
    return [
        IngestMessage(
            run_id,
            1,
            f"p-{run_id}",
            {
                f"m{k}": Points(steps, steps + 1_700_000_000_000, rng.random(points))
                for k in range(keys)
            },
            time.time_ns(),
        )
        for run_id in run_ids
    ]


async def measure(dsns: dict[str, str], run_ids: list[str], reads: int) -> dict[str, Any]:
    """Per layout: ANALYZE, the read's plan, series reads (the layouts taking turns), the
    fragmented-series scan, the size, a DELETE of every tenth run, VACUUM."""
    connections = {layout: await asyncpg.connect(dsn) for layout, dsn in dsns.items()}
    results: dict[str, dict[str, Any]] = {layout: {"read_ms": []} for layout in dsns}
    try:
        for layout, connection in connections.items():
            result = results[layout]
            started = time.perf_counter()
            await connection.execute("ANALYZE")
            result["analyze_s"] = time.perf_counter() - started
            plan = await connection.fetch(
                f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {READ}", run_ids[0], "m0"
            )
            result["plan"] = [row[0] for row in plan]
        statements = {layout: await c.prepare(READ) for layout, c in connections.items()}
        for i in range(reads):
            run_id = run_ids[(i * 7919) % len(run_ids)]
            for layout, statement in statements.items():
                started = time.perf_counter()
                await statement.fetch(run_id, "m1")
                results[layout]["read_ms"].append((time.perf_counter() - started) * 1000)
        for layout, connection in connections.items():
            result = results[layout]
            started = time.perf_counter()
            await connection.fetch(FRAGMENTED)
            result["fragmented_s"] = time.perf_counter() - started
            result["bytes"] = int(await connection.fetchval(SIZE))
            started = time.perf_counter()
            await connection.execute("DELETE FROM runs WHERE id = ANY($1)", run_ids[::10])
            result["delete_s"] = time.perf_counter() - started
            started = time.perf_counter()
            await connection.execute("VACUUM metric_chunks")
            result["vacuum_s"] = time.perf_counter() - started
        return results
    finally:
        for connection in connections.values():
            await connection.close()


async def bench(runs: int, keys: int, points: int, reads: int) -> dict[str, dict[str, Any]]:
    run_ids = [uuid.uuid4().hex for _ in range(runs)]
    tag = uuid.uuid4().hex[:8]
    names = {layout: f"tb_parts_{tag}_{i}" for i, layout in enumerate(LAYOUTS)}
    results: dict[str, dict[str, Any]] = {layout: {"write_s": []} for layout in LAYOUTS}
    databases: dict[str, Database] = {}
    try:
        for layout, revision in LAYOUTS.items():
            databases[layout] = Database.connect(await create(names[layout], revision, run_ids))
        for start in range(0, runs, RUNS_PER_WRITE):
            batch = messages(run_ids[start : start + RUNS_PER_WRITE], keys, points, start)
            # Alternating which goes first: neither layout always meets a cold cache.
            order = list(LAYOUTS) if start // RUNS_PER_WRITE % 2 == 0 else list(LAYOUTS)[::-1]
            for layout in order:
                started = time.perf_counter()
                await write_messages(databases[layout], batch)
                results[layout]["write_s"].append(time.perf_counter() - started)
        for database in databases.values():
            await database.dispose()
        databases.clear()
        dsns = {layout: f"{PG}/{names[layout]}" for layout in LAYOUTS}
        for layout, measured in (await measure(dsns, run_ids, reads)).items():
            results[layout].update(measured)
    finally:
        for database in databases.values():
            await database.dispose()
        for name in names.values():
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def report(rounds: list[dict[str, dict[str, Any]]], args: argparse.Namespace, load: float) -> str:
    per_write = RUNS_PER_WRITE * args.keys * args.points
    total = args.runs * args.keys * args.points
    first_layout, second_layout = LAYOUTS

    def row(name: str, first: float, second: float, digits: int = 1) -> str:
        return (
            f"| {name} | {first:,.{digits}f} | {second:,.{digits}f} | "
            f"{second / first if first else float('nan'):.2f} |"
        )

    def pair(pick: Any) -> tuple[float, float]:
        """The median over the rounds of each layout's figure."""
        return (
            median([float(pick(r[first_layout])) for r in rounds]),
            median([float(pick(r[second_layout])) for r in rounds]),
        )

    lines = [
        f"Command: `nice -n 10 python -m bench.scale_partitions --runs {args.runs} --keys "
        f"{args.keys} --points {args.points} --reads {args.reads} --rounds {args.rounds}` "
        f"(load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end). "
        f"Each round, two new databases and {total:,} points "
        f"({args.runs:,} runs x {args.keys} keys x {args.points:,} points, one chunk a "
        "series) written to both layouts through the ingest writer, "
        f"{RUNS_PER_WRITE} runs ({per_write:,} points) a write, the writes alternating "
        "between the two databases; the series reads take turns too, the other measures "
        "run on one layout after the other. Each figure is the median of the rounds'; "
        "ratio: partitioned / unpartitioned.",
        "",
        f"| measure | {' | '.join(LAYOUTS)} | ratio |",
        "|---|---:|---:|---:|",
        row(
            "write (median of the writes), points/s",
            *pair(lambda r: per_write / median(r["write_s"])),
            0,
        ),
        row("write p95, ms", *pair(lambda r: percentile(r["write_s"], 95) * 1000)),
        row("series read (one run and key), p50 ms", *pair(lambda r: median(r["read_ms"]))),
        row("series read, p95 ms", *pair(lambda r: percentile(r["read_ms"], 95))),
        row("scan for fragmented series (all chunks), s", *pair(lambda r: r["fragmented_s"]), 2),
        row("metric_chunks with indexes, MiB", *pair(lambda r: r["bytes"] / 2**20)),
        row(
            f"DELETE {args.runs // 10:,} runs (cascade to their chunks), s",
            *pair(lambda r: r["delete_s"]),
            2,
        ),
        row("plain VACUUM metric_chunks after it, s", *pair(lambda r: r["vacuum_s"]), 2),
        row("ANALYZE (whole database), s", *pair(lambda r: r["analyze_s"]), 2),
        "",
        "The series read's plan (`EXPLAIN ANALYZE`, last round) in each layout:",
        "",
    ]
    for layout in LAYOUTS:
        lines += [f"{layout}:", "", "```", *rounds[-1][layout]["plan"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The scale plan's shape: ~80 points a series, a dozen keys a run.
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--keys", type=int, default=12)
    parser.add_argument("--points", type=int, default=80)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rounds = []
    for i in range(args.rounds):
        rounds.append(asyncio.run(bench(args.runs, args.keys, args.points, args.reads)))
        print(f"round {i + 1} of {args.rounds} done", flush=True)
    text = report(rounds, args, load)
    print(text)
    if not args.no_write:
        write_section("Partitioning", text, path=SCALE_MD, header=SCALE_HEADER)
        print(f"wrote {SCALE_MD}")


if __name__ == "__main__":
    main()
