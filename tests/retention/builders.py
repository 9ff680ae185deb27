"""Runs with params, tags, metric points and an artifact, deleted as long ago as a test
needs (the deletion time is set back in the database: waiting days is not an option)."""

import time
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from tests.api.factories import log_points, make_experiment, make_run
from trackboard.server.backends.database import Database
from trackboard.server.models import (
    AppliedBatch,
    Experiment,
    MetricChunk,
    MetricSummary,
    Run,
    RunParam,
    RunTag,
)

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def database(app: FastAPI) -> Database:
    db: Database = app.state.database
    return db


@dataclass(frozen=True)
class Built:
    run_id: str
    experiment_id: int


async def full_run(
    client: httpx.AsyncClient,
    experiment_id: int,
    *,
    points: int = 100,
    timestamp: int | None = None,
    status: str = "FINISHED",
) -> str:
    """A run with a param, a tag, `points` points of `loss` (in one batch with an id) and
    an artifact, in `status`."""
    run = await make_run(client, experiment_id, params={"lr": "0.1"}, tags={"team": "a"})
    run_id: str = run["id"]
    start = timestamp if timestamp is not None else now_ms()
    columns: dict[str, Any] = {
        "key": "loss",
        "steps": list(range(points)),
        "values": [float((i * 37) % 101) for i in range(points)],
        "timestamps": [start + i for i in range(points)],
    }
    await log_points(client, run_id, [], columns=[columns], batch_id=f"b-{run_id}")
    uploaded = await client.put(f"/api/v1/runs/{run_id}/artifacts/model.bin", content=b"x" * 100)
    assert uploaded.is_success, uploaded.text
    if status != "RUNNING":
        finished = await client.patch(f"/api/v1/runs/{run_id}", json={"status": status})
        assert finished.is_success, finished.text
    return run_id


async def delete_run(client: httpx.AsyncClient, app: FastAPI, run_id: str, days_ago: float) -> None:
    assert (await client.delete(f"/api/v1/runs/{run_id}")).is_success
    await set_deleted_at(app, Run, run_id, now_ms() - int(days_ago * DAY_MS))


async def delete_experiment(
    client: httpx.AsyncClient, app: FastAPI, experiment_id: int, days_ago: float
) -> None:
    assert (await client.delete(f"/api/v1/experiments/{experiment_id}")).is_success
    when = now_ms() - int(days_ago * DAY_MS)
    await set_deleted_at(app, Experiment, experiment_id, when)
    async with database(app).transaction() as session:
        await session.execute(
            update(Run).where(Run.experiment_id == experiment_id).values(deleted_at=when)
        )


async def set_deleted_at(
    app: FastAPI, model: type[Run] | type[Experiment], ident: object, when: int
) -> None:
    async with database(app).transaction() as session:
        await session.execute(update(model).where(model.id == ident).values(deleted_at=when))


async def rows_of_run(app: FastAPI, run_id: str) -> dict[str, int]:
    """How many rows each table holds for the run."""
    counts = {}
    async with database(app).transaction(write=False) as session:
        for name, table, column in (
            ("runs", Run, Run.id),
            ("params", RunParam, RunParam.run_id),
            ("tags", RunTag, RunTag.run_id),
            ("chunks", MetricChunk, MetricChunk.run_id),
            ("summaries", MetricSummary, MetricSummary.run_id),
            ("batches", AppliedBatch, AppliedBatch.run_id),
        ):
            query = select(func.count()).select_from(table).where(column == run_id)
            counts[name] = int((await session.execute(query)).scalar_one())
    return counts


async def new_experiment(client: httpx.AsyncClient, **body: Any) -> int:
    experiment_id: int = (await make_experiment(client, **body))["id"]
    return experiment_id
