"""The run check of metric writes reads a run once for many small calls, yet a run deleted
(or restored, or whose experiment was deleted) answers the very next call accordingly; runs
in use are read again in the background, so a write does not wait for its run's read."""

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tests.ingest.test_mlflow_ingest import API, history, metric, new_run
from trackboard.server.errors import InvalidParameter
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.ingest.run_cache import IN_USE_S, RunCache
from trackboard.server.models import Run


async def log_metric(client: httpx.AsyncClient, run_id: str, step: int) -> httpx.Response:
    return await client.post(
        API + "/runs/log-metric", json={"run_id": run_id, **metric("loss", 0.5, step)}
    )


async def test_a_deleted_run_refuses_the_next_point_and_a_restored_one_takes_it(
    client: httpx.AsyncClient,
) -> None:
    _, run_id = await new_run(client)
    assert (await log_metric(client, run_id, 0)).status_code == 200
    assert (await client.post(API + "/runs/delete", json={"run_id": run_id})).status_code == 200
    refused = await log_metric(client, run_id, 1)
    assert refused.status_code == 400, refused.text
    assert "must be in the 'active' state" in refused.json()["message"]
    v1 = await client.post(
        f"/api/v1/runs/{run_id}/metrics", json={"metrics": [{"key": "loss", "value": 1, "step": 1}]}
    )
    assert v1.status_code == 400, v1.text
    assert "deleted" in v1.text
    assert (await client.post(API + "/runs/restore", json={"run_id": run_id})).status_code == 200
    assert (await log_metric(client, run_id, 2)).status_code == 200
    assert await history(client, run_id, "loss") == [(0, 0.5), (2, 0.5)]


async def test_deleting_the_experiment_stops_points_to_its_runs_at_once(
    client: httpx.AsyncClient,
) -> None:
    experiment_id, run_id = await new_run(client)
    assert (await log_metric(client, run_id, 0)).status_code == 200
    deleted = await client.post(
        API + "/experiments/delete", json={"experiment_id": str(experiment_id)}
    )
    assert deleted.status_code == 200, deleted.text
    assert (await log_metric(client, run_id, 1)).status_code == 400


async def test_concurrent_checks_of_an_expired_run_read_it_once(app: FastAPI) -> None:
    ingestor = app.state.ingestor
    database = app.state.database
    async with database.transaction() as session:
        run = Run(
            id="a" * 32,
            experiment_id=0,
            name="r",
            status="RUNNING",
            start_time=0,
            user="",
            lifecycle_stage="active",
        )
        session.add(run)
    reads = 0
    release = asyncio.Event()

    async def counted_read() -> Run:
        nonlocal reads
        reads += 1
        await release.wait()
        return run

    waiting = [
        asyncio.create_task(ingestor.runs.read_once(run.id, counted_read)) for _ in range(16)
    ]
    await asyncio.sleep(0)
    release.set()
    assert all(r.id == run.id for r in await asyncio.gather(*waiting))
    assert reads == 1
    # And through the service: a fresh entry is served without reading.
    assert (await metrics.find_run(ingestor, database, run.id)).id == run.id
    assert ingestor.runs.seen(run.id) is not None


def entry_age(cache: RunCache, run_id: str) -> float:
    seen = cache.seen(run_id)
    assert seen is not None
    return time.monotonic() - seen[0]


async def wait_for_refresh(cache: RunCache, run_id: str, older_than_s: float) -> None:
    """Until the background refresh renewed the entry (the app's loop looks every 0.25 s)."""
    deadline = time.monotonic() + 10
    while entry_age(cache, run_id) > older_than_s:
        assert time.monotonic() < deadline, "the run in use was not read again"
        await asyncio.sleep(0.05)


async def test_a_run_in_use_is_read_again_before_its_entry_expires(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, run_id = await new_run(client)
    assert (await log_metric(client, run_id, 0)).status_code == 200
    cache: RunCache = app.state.ingestor.runs
    seen = cache.seen(run_id)
    assert seen is not None
    # As if read just before it would expire: the refresh renews it, so the next write is
    # served from the cache instead of reading the run.
    cache.remember(seen[1], time.monotonic() - 0.9 * metrics.RUN_CHECK_TTL_S, cache.generation)
    await wait_for_refresh(cache, run_id, metrics.RUN_REFRESH_AFTER_S)
    assert entry_age(cache, run_id) < metrics.RUN_CHECK_TTL_S


async def test_a_run_deleted_by_another_process_is_refused_once_refreshed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, run_id = await new_run(client)
    assert (await log_metric(client, run_id, 0)).status_code == 200
    ingestor = app.state.ingestor
    database = app.state.database
    # Another process's change: committed without an event in this one.
    async with database.transaction() as session:
        await session.execute(update(Run).where(Run.id == run_id).values(lifecycle_stage="deleted"))
    changed_at = time.monotonic()
    while (await metrics.find_run(ingestor, database, run_id)).lifecycle_stage == "active":
        assert time.monotonic() - changed_at < metrics.RUN_CHECK_TTL_S + 1
        await asyncio.sleep(0.05)
    with pytest.raises(InvalidParameter):
        await metrics.find_active_run(ingestor, database, run_id)


def test_only_runs_asked_for_lately_are_due_for_a_refresh() -> None:
    cache = RunCache()
    now = time.monotonic()
    runs = [
        Run(id=c * 32, experiment_id=0, name=c, status="RUNNING", start_time=0, user="")
        for c in "abcd"
    ]
    for run in runs:
        cache.remember(run, now - 0.8, cache.generation)
    cache.used("a" * 32, now)  # in use, read 0.8 s ago: due
    cache.used("b" * 32, now - IN_USE_S - 1)  # not asked for lately
    cache.remember(runs[2], now, cache.generation)
    cache.used("c" * 32, now)  # in use but read just now
    cache.used("e" * 32, now)  # asked for, but never read (not found): nothing to renew
    assert cache.in_use_and_due(now, 0.5) == ["a" * 32]
    # A run no longer in use is forgotten, and stays so.
    assert cache.in_use_and_due(now + IN_USE_S + 1, 0.5) == []
