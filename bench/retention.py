"""Retention bench (issue 18 §5): does a purge give the space back, on both stores?

Loads runs with params, tags, metric points (through the ingest writer) and an artifact
each; deletes half of them, back-dated past the retention; purges them; measures the
database (PostgreSQL: `pg_total_relation_size` of the tables; SQLite: the file and its WAL)
and the artifact folder after each step: the purge, a plain VACUUM (PostgreSQL), and
VACUUM FULL / SQLite VACUUM (`trackboard gc --vacuum`). Then thins the remaining series
(older than the cutoff, finished runs) to `--max-points` and measures again.

    .venv/bin/python -m bench.retention [--runs 200 --keys 4 --points 10000] [--no-write]

Writes the "Retention" section of docs/benchmarks-scale.md (unless --no-write).
"""

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import insert, update

from bench.report import machine, write_section
from trackboard.server.artifacts.store import LocalArtifactStore
from trackboard.server.backends.database import Database, create_engine
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.writer import apply_messages
from trackboard.server.metrics.points import Points
from trackboard.server.migrate import upgrade_database
from trackboard.server.models import Experiment, Run, RunParam, RunTag
from trackboard.server.retention.purge import purge_deleted_experiments, purge_deleted_runs
from trackboard.server.retention.space import reclaim_space, storage_bytes
from trackboard.server.retention.thinning import downsample_old_series

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
SCALE_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-scale.md"
SCALE_HEADER = (
    "# Benchmarks at scale\n\n"
    "Every section is written by the benchmark named in it (`python -m bench.<name>`), with\n"
    "the machine and the date.\n"
)
DAY_MS = 86_400_000
ARTIFACT_BYTES = 64 * 1024


async def seed(
    database: Database,
    store: LocalArtifactStore,
    runs: int,
    keys: int,
    points: int,
    *,
    experiments: bool = True,
) -> list[tuple[str, int]]:
    """`runs` finished runs in two experiments (made first unless `experiments` is
    False), their points 60 days old."""
    now = int(time.time() * 1000)
    start = now - 60 * DAY_MS
    ids = [(uuid.uuid4().hex, 1 + i % 2) for i in range(runs)]
    async with database.transaction() as session:
        for experiment_id in (1, 2) if experiments else ():
            await session.execute(
                insert(Experiment).values(
                    id=experiment_id,
                    name=f"e{experiment_id}",
                    creation_time=now,
                    last_update_time=now,
                )
            )
        await session.execute(
            insert(Run),
            [
                {
                    "id": r,
                    "experiment_id": e,
                    "name": r[:8],
                    "status": "FINISHED",
                    "start_time": start,
                    "end_time": start + points,
                    "user": "bench",
                }
                for r, e in ids
            ],
        )
        await session.execute(
            insert(RunParam),
            [
                {"run_id": r, "key": f"p{k}", "value": f"{k * 0.1:.3f}"}
                for r, _ in ids
                for k in range(20)
            ],
        )
        await session.execute(
            insert(RunTag),
            [{"run_id": r, "key": f"t{k}", "value": f"tag-{k}"} for r, _ in ids for k in range(5)],
        )
    rng = np.random.default_rng(0)
    steps = np.arange(points, dtype=np.int64)
    times = start + steps * 10
    for run_id, experiment_id in ids:
        series = {
            f"m{k}": Points(steps, times, rng.standard_normal(points).cumsum()) for k in range(keys)
        }
        message = IngestMessage(run_id, experiment_id, f"seed-{run_id}", series, time.time_ns())
        async with database.transaction() as session:
            await apply_messages(session, [message])
        folder = store.root / str(experiment_id) / run_id / "artifacts"
        folder.mkdir(parents=True)
        (folder / "model.bin").write_bytes(rng.bytes(ARTIFACT_BYTES))
    return ids


async def delete_runs(database: Database, run_ids: list[str]) -> None:
    """Deleted 40 days ago: past the 30-day cutoff the bench purges at."""
    old = int(time.time() * 1000) - 40 * DAY_MS
    async with database.transaction() as session:
        await session.execute(
            update(Run).where(Run.id.in_(run_ids)).values(lifecycle_stage="deleted", deleted_at=old)
        )


def folder_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


async def sizes(database: Database, store: LocalArtifactStore) -> tuple[str, int]:
    """The database's bytes on disk (SQLite: the file, and its WAL apart), and the
    artifact folder's."""
    found = await storage_bytes(database.engine)
    if "file" in found:
        text = f"{mib(found['file'])} + {mib(found['wal'])} WAL"
    else:
        text = mib(sum(found.values()))
    return text, folder_bytes(store.root)


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


async def bench_store(
    kind: str, runs: int, keys: int, points: int, max_points: int
) -> list[tuple[str, str, int, float]]:
    home = Path(tempfile.mkdtemp(prefix=f"tb-retention-{kind}-"))
    name = f"tb_retention_{uuid.uuid4().hex[:10]}"
    if kind == "postgres":
        admin = await asyncpg.connect(f"{POSTGRES}/test")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite+aiosqlite:///{home / 'trackboard.db'}"
    engine = create_engine(url)
    await upgrade_database(engine)
    await engine.dispose()
    database = Database.connect(url, pool_size=2)
    store = LocalArtifactStore(home / "artifacts")
    rows: list[tuple[str, str, int, float]] = []

    async def step(label: str, seconds: float = float("nan")) -> None:
        db, files = await sizes(database, store)
        rows.append((label, db, files, seconds))
        print(f"{kind}: {label}: database {db}, artifacts {mib(files)}")

    try:
        started = time.perf_counter()
        ids = await seed(database, store, runs, keys, points)
        if kind == "postgres":
            await reclaim_space(database.engine, full=False)  # settled: ANALYZE, visibility
        await step(
            f"loaded {runs:,} runs x {keys} keys x {points:,} points", time.perf_counter() - started
        )
        await delete_runs(database, [run_id for run_id, _ in ids[::2]])
        cutoff = int(time.time() * 1000) - 30 * DAY_MS
        started = time.perf_counter()
        report = await purge_deleted_runs(database, store, cutoff)
        await purge_deleted_experiments(database, store, cutoff)
        await step(
            f"purged {report.runs:,} deleted runs ({report.points:,} points)",
            time.perf_counter() - started,
        )
        if kind == "postgres":
            started = time.perf_counter()
            await reclaim_space(database.engine, full=False)
            await step("plain VACUUM", time.perf_counter() - started)
        # As many runs as were purged, loaded again: the freed space is reused.
        again = await seed(database, store, runs // 2, keys, points, experiments=False)
        await step(f"loaded {len(again):,} new runs into the freed space")
        await delete_runs(database, [run_id for run_id, _ in again])
        report = await purge_deleted_runs(database, store, cutoff)
        await step(f"purged those {report.runs:,} runs again")
        started = time.perf_counter()
        await reclaim_space(database.engine, full=True)
        await step("VACUUM FULL" if kind == "postgres" else "VACUUM", time.perf_counter() - started)
        started = time.perf_counter()
        thinned = await downsample_old_series(database, cutoff, max_points)
        await reclaim_space(database.engine, full=True)
        await step(
            f"thinned {thinned.series:,} series {thinned.points_before:,} -> "
            f"{thinned.points_after:,} points, then VACUUM{' FULL' if kind == 'postgres' else ''}",
            time.perf_counter() - started,
        )
    finally:
        await database.dispose()
        shutil.rmtree(home, ignore_errors=True)
        if kind == "postgres":
            admin = await asyncpg.connect(f"{POSTGRES}/test")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    return rows


def table(results: dict[str, list[tuple[str, str, int, float]]]) -> str:
    lines = [
        "| store | step | database | artifacts | time |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, rows in results.items():
        for label, db, files, seconds in rows:
            took = "" if seconds != seconds else f"{seconds:.1f} s"
            lines.append(f"| {kind} | {label} | {db} | {mib(files)} | {took} |")
    return "\n".join(lines)


NOTES = """\
Each run has 20 params, 5 tags, its metric series (one batch through the ingest writer) and
a 64 KiB artifact; half of them are deleted, back-dated 40 days, and purged at a 30-day
cutoff (`trackboard gc --older-than 30d`). "Loaded … into the freed space" loads as many
runs as were purged, after the purge (and, on PostgreSQL, a plain `VACUUM`): compare its
size with the row above it to see the freed space reused instead of the files growing.
`VACUUM FULL` (PostgreSQL) and `VACUUM` (SQLite) are what `trackboard gc --vacuum` runs;
the thinning row is `--downsample-older-than` on the remaining runs, whose points are 60
days old. SQLite's WAL holds pages written since the last checkpoint; it is part of the
disk used until a checkpoint truncates it."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keys", type=int, default=4)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--max-points", type=int, default=1_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = {
        kind: asyncio.run(bench_store(kind, args.runs, args.keys, args.points, args.max_points))
        for kind in args.stores.split(",")
    }
    body = table(results)
    print(body)
    if not args.no_write:
        command = (
            f"python -m bench.retention --runs {args.runs} --keys {args.keys} "
            f"--points {args.points} --max-points {args.max_points}"
        )
        load = f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        text = f"`{command}` (load average {load}: a shared machine).\n\n{body}\n\n{NOTES}"
        write_section("Retention", text, path=SCALE_MD, header=SCALE_HEADER)
    print(machine())


if __name__ == "__main__":
    main()
