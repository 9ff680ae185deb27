"""The run check of metric writes reads a run once for many small calls, yet a run deleted
(or restored, or whose experiment was deleted) answers the very next call accordingly."""

import asyncio

import httpx
from fastapi import FastAPI

from tests.ingest.test_mlflow_ingest import API, history, metric, new_run
from trackboard.server.metrics import service as metrics
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
