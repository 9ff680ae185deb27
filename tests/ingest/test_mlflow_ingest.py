"""MLflow's log-metric and log-batch take the v1 ingest path (embedded mode, over the API):
back-pressure, live events, the points_ingested count, compaction, and batch-id dedupe."""

import asyncio
import time
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy import select

from trackboard.server.backends.database import Database
from trackboard.server.backends.queue import LocalQueue
from trackboard.server.live.service import LiveService, run_topic
from trackboard.server.metrics.ingest.loop import IngestLoop
from trackboard.server.models import MetricChunk
from trackboard.server.observability.prometheus import Instruments

API = "/api/2.0/mlflow"


def sample(app: FastAPI, name: str, labels: dict[str, str] | None = None) -> float:
    instruments: Instruments = app.state.instruments
    return instruments.registry.get_sample_value(name, labels) or 0.0


def metric(key: str, value: float, step: int, timestamp: int = 1_000) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


async def new_run(client: httpx.AsyncClient) -> tuple[int, str]:
    created = await client.post(API + "/experiments/create", json={"name": "ingest"})
    experiment_id = created.json()["experiment_id"]
    body = {"experiment_id": experiment_id, "start_time": 1, "user_id": "u"}
    run = await client.post(API + "/runs/create", json=body)
    return int(experiment_id), run.json()["run"]["info"]["run_id"]


async def history(client: httpx.AsyncClient, run_id: str, key: str) -> list[tuple[int, float]]:
    response = await client.get(
        API + "/metrics/get-history", params={"run_id": run_id, "metric_key": key}
    )
    assert response.status_code == 200, response.text
    return [(m["step"], m["value"]) for m in response.json().get("metrics", [])]


async def chunk_sizes(database: Database, run_id: str) -> list[int]:
    async with database.transaction(write=False) as session:
        query = select(MetricChunk.point_count).where(MetricChunk.run_id == run_id)
        return sorted((await session.scalars(query)).all())


def in_process_queue(app: FastAPI) -> LocalQueue:
    queue = app.state.ingestor.queue
    assert isinstance(queue, LocalQueue)
    return queue


async def test_mlflow_metric_writes_get_503_with_retry_after_when_the_queue_is_full(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, run_id = await new_run(client)
    in_process_queue(app).max_length = 0
    requests = [
        ("/runs/log-metric", {"run_id": run_id, **metric("loss", 0.5, 0)}),
        ("/runs/log-batch", {"run_id": run_id, "metrics": [metric("loss", 0.4, 1)]}),
    ]
    for path, body in requests:
        response = await client.post(API + path, json=body)
        assert response.status_code == 503, response.text
        assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert int(response.headers["Retry-After"]) >= 1
    assert sample(app, "trackboard_ingest_rejected_total", {"reason": "full"}) == 2
    assert sample(app, "trackboard_metric_points_ingested_total") == 0
    assert await history(client, run_id, "loss") == []


async def test_a_log_batch_refused_with_503_converges_when_it_is_sent_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Params and tags are committed before the points are offered to the queue; a 503 may
    leave them behind, and the client's retry of the same request completes the batch."""
    _, run_id = await new_run(client)
    body = {
        "run_id": run_id,
        "metrics": [metric("loss", 0.5, 0), metric("loss", 0.25, 1)],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "team", "value": "nlp"}],
    }
    queue = in_process_queue(app)
    queue.max_length = 0
    refused = await client.post(API + "/runs/log-batch", json=body)
    assert refused.status_code == 503
    queue.max_length = 10_000
    retried = await client.post(API + "/runs/log-batch", json=body)
    assert retried.status_code == 200, retried.text
    run = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert run["params"] == {"lr": "0.1"}
    assert run["tags"]["team"] == "nlp"
    assert await history(client, run_id, "loss") == [(0, 0.5), (1, 0.25)]


async def test_a_log_batch_refused_with_a_400_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, run_id = await new_run(client)
    first = {"run_id": run_id, "params": [{"key": "lr", "value": "0.1"}]}
    assert (await client.post(API + "/runs/log-batch", json=first)).status_code == 200
    changed = {
        "run_id": run_id,
        "metrics": [metric("loss", 0.5, 0)],
        "params": [{"key": "lr", "value": "0.2"}],
        "tags": [{"key": "team", "value": "nlp"}],
    }
    response = await client.post(API + "/runs/log-batch", json=changed)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    run = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert run["params"] == {"lr": "0.1"}
    assert "team" not in run["tags"]
    assert await history(client, run_id, "loss") == []
    assert sample(app, "trackboard_metric_points_ingested_total") == 0


async def test_an_identical_mlflow_request_sent_twice_is_stored_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, run_id = await new_run(client)
    point = {"run_id": run_id, **metric("acc", 0.9, 3)}
    batch = {"run_id": run_id, "metrics": [metric("f1", 0.7, 0), metric("f1", 0.7, 0)]}
    for _ in range(2):
        assert (await client.post(API + "/runs/log-metric", json=point)).status_code == 200
        assert (await client.post(API + "/runs/log-batch", json=batch)).status_code == 200
    assert await history(client, run_id, "acc") == [(3, 0.9)]
    # MLflow keeps one copy of identical points within a batch, too.
    assert await history(client, run_id, "f1") == [(0, 0.7)]
    assert sample(app, "trackboard_metric_points_ingested_total") == 2
    # The same value at another step or time is another point.
    again = {"run_id": run_id, **metric("acc", 0.9, 3, timestamp=2_000)}
    assert (await client.post(API + "/runs/log-metric", json=again)).status_code == 200
    assert await history(client, run_id, "acc") == [(3, 0.9), (3, 0.9)]


async def test_mlflow_points_are_published_live_and_counted_as_ingested(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    experiment_id, run_id = await new_run(client)
    live: LiveService = app.state.live
    async with live.subscribe(run_topic(run_id)) as events:
        single = {"run_id": run_id, **metric("loss", 0.5, 0)}
        assert (await client.post(API + "/runs/log-metric", json=single)).status_code == 200
        batch = {"run_id": run_id, "metrics": [metric("loss", 0.25, 1), metric("acc", 0.75, 1)]}
        assert (await client.post(API + "/runs/log-batch", json=batch)).status_code == 200
        first = orjson.loads(await asyncio.wait_for(anext(events), 5))
        second = orjson.loads(await asyncio.wait_for(anext(events), 5))
    head = {"event": "metrics", "run_id": run_id, "experiment_id": experiment_id}
    assert first == {**head, "points": {"loss": [[0, 0.5, 1000]]}}
    assert second == {**head, "points": {"loss": [[1, 0.25, 1000]], "acc": [[1, 0.75, 1000]]}}
    assert sample(app, "trackboard_metric_points_ingested_total") == 3


async def test_single_point_mlflow_writes_are_compacted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ingest_loop: IngestLoop = app.state.ingest_loop
    ingest_loop.compactor.interval_s = 0.0
    _, run_id = await new_run(client)
    count = ingest_loop.compactor.min_chunks
    for step in range(count):
        body = {"run_id": run_id, **metric("loss", step / 10, step, timestamp=1_000 + step)}
        assert (await client.post(API + "/runs/log-metric", json=body)).status_code == 200
    database: Database = app.state.database
    deadline = time.monotonic() + 10
    while (sizes := await chunk_sizes(database, run_id)) != [count]:
        assert time.monotonic() < deadline, f"not compacted: chunks of {sizes} points"
        await asyncio.sleep(0.05)
    assert await history(client, run_id, "loss") == [(s, s / 10) for s in range(count)]
