"""The scale loader's stages over any v1 API (a server process or an app over ASGI): create
the plan's experiments and runs, post its points, wait until every point is stored, measure
the database. Each stage resumes from the last checkpoint in its `State`; what it posts again
is stored once (client-chosen run ids, fixed batch ids)."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import orjson
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench.scale_plan import Plan, RunPlan
from trackboard.server.limits import MAX_POINTS_PER_BATCH

# Runs taken together between checkpoints: what a resumed stage may post a second time.
WINDOW = 200
# Runs a `runs:batch` request creates (one experiment's, in load order): one request and one
# transaction for them all. At one run a request the API's fixed cost per request (~9 ms
# of server CPU) held 8 clients to 35-40 runs/s on this machine (bench/scale_runs.py).
RUNS_PER_REQUEST = 100
# Tables the loader fills: storage per point and per run is measured over them.
POINT_TABLES = ("metric_chunks", "applied_batches")
RUN_TABLES = ("runs", "run_params", "run_tags", "metric_summaries")


@dataclass
class State:
    """Where a load stands, saved as JSON after every checkpoint."""

    path: Path | None
    scale: float
    seed: int
    experiment_ids: list[int] = field(default_factory=list)
    runs_done: int = 0
    points_runs_done: int = 0
    stages_done: list[str] = field(default_factory=list)
    # (seconds since the points stage began, points accepted by then), one per window.
    accepted_over_time: list[tuple[float, int]] = field(default_factory=list)
    points_seconds: float = 0.0  # points stage time before this resume
    measures: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # what the caller keeps (database…)

    @classmethod
    def load(cls, path: Path) -> "State":
        data = orjson.loads(path.read_bytes())
        data["accepted_over_time"] = [tuple(pair) for pair in data["accepted_over_time"]]
        return cls(path=path, **data)

    def save(self) -> None:
        if self.path is not None:
            data = asdict(self)
            del data["path"]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=quiet,
    )


async def in_parallel(
    items: Iterable[Any], concurrency: int, call: Callable[[Any], Awaitable[None]]
) -> None:
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            await call(item)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def windows(plan: Plan, start: int, size: int = WINDOW) -> Iterator[list[RunPlan]]:
    runs = plan.all_runs(start)
    while window := list(islice(runs, size)):
        yield window


def run_requests(window: list[RunPlan]) -> Iterator[list[RunPlan]]:
    """The window's runs as requests: consecutive runs of one experiment, at most
    RUNS_PER_REQUEST each."""
    request: list[RunPlan] = []
    for run in window:
        if request and (
            len(request) == RUNS_PER_REQUEST or run.experiment_index != request[0].experiment_index
        ):
            yield request
            request = []
        request.append(run)
    if request:
        yield request


async def create_experiments(http: httpx.AsyncClient, plan: Plan, state: State) -> None:
    for index in range(len(state.experiment_ids), len(plan.experiment_runs)):
        name = plan.experiment_name(index)
        body = {"name": name, "tags": {"project": str(plan.project_of(index))}}
        response = await http.post("/api/v1/experiments", json=body)
        if response.status_code == 409:  # made before an interruption, not yet saved
            response = await http.get(f"/api/v1/experiments/by-name/{name}")
        response.raise_for_status()
        state.experiment_ids.append(response.json()["id"])
        if index % 100 == 99:
            state.save()
    state.save()


async def create_runs(
    http: httpx.AsyncClient, plan: Plan, state: State, concurrency: int, progress: Progress
) -> None:
    task = progress.add_task("runs", total=plan.runs, completed=state.runs_done)

    async def create(runs: list[RunPlan]) -> None:
        bodies = [
            {
                "id": run.id,
                "name": run.name,
                "start_time": run.start_time,
                "user": "scale",
                "status": run.status,
                "params": run.params,
                "tags": run.tags,
            }
            for run in runs
        ]
        experiment_id = state.experiment_ids[runs[0].experiment_index]
        response = await http.post(
            f"/api/v1/experiments/{experiment_id}/runs:batch", json={"runs": bodies}
        )
        response.raise_for_status()
        progress.advance(task, len(runs))

    # A window a request per client, so that every client has one between checkpoints.
    for window in windows(plan, state.runs_done, concurrency * RUNS_PER_REQUEST):
        await in_parallel(run_requests(window), concurrency, create)
        state.runs_done += len(window)
        state.save()


def run_batches(run: RunPlan) -> Iterator[tuple[str, list[dict[str, Any]], int]]:
    """The run's points as (batch id, columns, points) of at most the API's batch size,
    values drawn from the run's own seed (the same on every resume)."""
    rng = np.random.default_rng(int(run.id[:16], 16))
    pieces: list[tuple[str, int, int]] = []  # (key, first step, points)
    for key, points in run.series.items():
        for first in range(0, points, MAX_POINTS_PER_BATCH):
            pieces.append((key, first, min(MAX_POINTS_PER_BATCH, points - first)))
    batch: list[dict[str, Any]] = []
    size = 0
    number = 0
    for key, first, points in pieces:
        if size + points > MAX_POINTS_PER_BATCH:
            yield f"{run.id}-{number}", batch, size
            batch, size, number = [], 0, number + 1
        steps = np.arange(first, first + points, dtype=np.int64)
        batch.append({"key": key, "steps": steps, "values": rng.random(points)})
        size += points
    if batch:
        yield f"{run.id}-{number}", batch, size


async def post_batch(
    http: httpx.AsyncClient, run_id: str, batch_id: str, columns: list[dict[str, Any]]
) -> None:
    """Post until the API takes it: a 503 (queue full) waits its Retry-After, as the SDK does."""
    body = orjson.dumps(
        {"batch_id": batch_id, "columns": columns}, option=orjson.OPT_SERIALIZE_NUMPY
    )
    while True:
        response = await http.post(
            f"/api/v1/runs/{run_id}/metrics",
            content=body,
            headers={"content-type": "application/json"},
        )
        if response.status_code != 503:
            response.raise_for_status()
            return
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")) * random.random())


async def log_points(
    http: httpx.AsyncClient, plan: Plan, state: State, concurrency: int, progress: Progress
) -> None:
    task = progress.add_task("runs' points", total=plan.runs, completed=state.points_runs_done)
    accepted = state.accepted_over_time[-1][1] if state.accepted_over_time else 0
    resumed_at = time.monotonic() - state.points_seconds

    async def post(item: tuple[str, str, list[dict[str, Any]], int]) -> None:
        nonlocal accepted
        run_id, batch_id, columns, points = item
        await post_batch(http, run_id, batch_id, columns)
        accepted += points

    for window in windows(plan, state.points_runs_done):
        batches = ((run.id, *batch) for run in window for batch in run_batches(run))
        await in_parallel(batches, concurrency, post)
        progress.advance(task, len(window))
        state.points_runs_done += len(window)
        state.points_seconds = time.monotonic() - resumed_at
        state.accepted_over_time.append((round(state.points_seconds, 3), accepted))
        state.save()


async def stored_points(connection: asyncpg.Connection) -> int:
    return int(
        await connection.fetchval("SELECT coalesce(sum(count), 0)::bigint FROM metric_summaries")
    )


async def wait_until_stored(dsn: str, total: int, timeout_s: float, poll_s: float = 1.0) -> int:
    """Points stored once the queue drained: waits for `total` (or the timeout)."""
    connection = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        stored = await stored_points(connection)
        while stored < total and time.monotonic() < deadline:
            await asyncio.sleep(poll_s)
            stored = await stored_points(connection)
        return stored
    finally:
        await connection.close()


async def wal_lsn(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SELECT pg_current_wal_lsn()::text"))
    finally:
        await connection.close()


async def measure_storage(dsn: str, wal_start: str) -> dict[str, Any]:
    """Bytes of the point and run tables (with indexes and TOAST), the WAL written since
    `wal_start` (the whole server's: every database on it), the points and runs stored."""
    connection = await asyncpg.connect(dsn)
    try:
        sizes = {
            table: int(
                await connection.fetchval(
                    # A partitioned table's size is its partitions' (pg_partition_tree
                    # lists none for a plain table).
                    "SELECT pg_total_relation_size($1::text::regclass) + coalesce(("
                    "SELECT sum(pg_total_relation_size(relid)) "
                    "FROM pg_partition_tree($1::text::regclass) WHERE isleaf), 0)",
                    table,
                )
            )
            for table in (*POINT_TABLES, *RUN_TABLES)
        }
        return {
            "tables": sizes,
            "database_bytes": int(
                await connection.fetchval("SELECT pg_database_size(current_database())")
            ),
            "wal_bytes": int(
                await connection.fetchval(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", wal_start
                )
            ),
            "points": await stored_points(connection),
            "runs": int(await connection.fetchval("SELECT count(*) FROM runs")),
            "series": int(await connection.fetchval("SELECT count(*) FROM metric_summaries")),
        }
    finally:
        await connection.close()


async def vacuum_analyze(dsn: str) -> dict[str, float]:
    """Seconds of a database-wide plain VACUUM, then of ANALYZE."""
    connection = await asyncpg.connect(dsn)
    try:
        timings = {}
        for statement in ("VACUUM", "ANALYZE"):
            started = time.perf_counter()
            await connection.execute(statement)
            timings[statement] = time.perf_counter() - started
        return timings
    finally:
        await connection.close()
