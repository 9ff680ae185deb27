"""Embedded mode over the API: the in-process queue and group-commit writer."""

import asyncio

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from tests.api.factories import make_run
from tests.ingest.conftest import Store
from trackboard.server.backends.queue import LocalQueue
from trackboard.server.errors import Unavailable
from trackboard.server.metrics.ingest.consumer import BatchLimits, IngestConsumer
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.metrics.points import Points
from trackboard.server.metrics.service import IngestResult, accept_batch
from trackboard.server.models import Run
from trackboard.server.observability.prometheus import Instruments


def sample(app: FastAPI, name: str) -> float:
    instruments: Instruments = app.state.instruments
    return instruments.registry.get_sample_value(name) or 0.0


def columns(key: str, start: int, n: int) -> dict[str, object]:
    steps = list(range(start, start + n))
    return {"key": key, "steps": steps, "values": [float(s) for s in steps]}


async def test_concurrent_batches_share_commits_and_are_readable_on_200(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    run = await make_run(client)
    url = f"/api/v1/runs/{run['id']}/metrics"
    responses = await asyncio.gather(
        *[client.post(url, json={"columns": [columns("loss", i * 100, 100)]}) for i in range(40)]
    )
    assert {r.status_code for r in responses} == {200}
    assert all(
        r.json() == {"accepted": 100, "duplicate": False, "batch_id": None, "committed": True}
        for r in responses
    )
    history = await client.get(f"{url}/loss", params={"format": "columns"})
    assert history.json()["steps"] == list(range(4000))
    assert sample(app, "trackboard_ingest_write_batch_messages_sum") == 40
    assert sample(app, "trackboard_ingest_freshness_seconds_count") == 40


async def test_requests_waiting_for_the_writer_share_one_commit(store: Store) -> None:
    queue = LocalQueue[IngestMessage]()
    instruments = Instruments()
    ingestor = Ingestor(queue, instruments, waits_for_commit=True, max_depth=100)
    consumer = IngestConsumer(
        queue, store.database, instruments, BatchLimits(linger_s=0.0), ingestor.written
    )
    run = Run(id=store.run_ids[0], experiment_id=store.experiment_id)
    steps = np.arange(5, dtype=np.int64)
    batches = [{"loss": Points(steps + 5 * i, steps, steps.astype(np.float64))} for i in range(10)]
    # Ten requests arrive while the writer is busy; its next write takes them all.
    requests = [
        asyncio.create_task(accept_batch(ingestor, run, series, f"b{i}"))
        for i, series in enumerate(batches)
    ]
    await asyncio.sleep(0.05)
    assert await consumer.run_once() == 10
    results = await asyncio.gather(*requests)
    assert all(r == IngestResult(5, False, True) for r in results)
    assert (
        instruments.registry.get_sample_value("trackboard_ingest_write_batch_messages_count") == 1
    )


async def test_a_deep_queue_answers_503_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    run = await make_run(client)
    app.state.ingestor.max_depth = 0
    response = await client.post(
        f"/api/v1/runs/{run['id']}/metrics", json={"columns": [columns("loss", 0, 3)]}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TEMPORARILY_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


async def test_metrics_of_a_missing_run_are_404_and_nothing_is_queued(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/runs/" + "0" * 32 + "/metrics", json={"columns": [columns("loss", 0, 3)]}
    )
    assert response.status_code == 404


async def test_a_full_in_process_queue_refuses_with_unavailable() -> None:
    queue = LocalQueue[IngestMessage](max_length=2)
    ingestor = Ingestor(queue, Instruments(), waits_for_commit=False, max_depth=100)
    points = Points.empty()
    message = IngestMessage("r", 1, None, {"x": points}, 0)
    await ingestor.publish(message)
    await ingestor.publish(message)
    with pytest.raises(Unavailable) as refused:
        await ingestor.publish(message)
    assert refused.value.retry_after_s >= 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_batch_that_is_not_sent_as_json_is_refused(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    run = await make_run(client)
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        content=b'{"columns": [{"key": "x", "steps": [0], "values": [1.0]}]}',
        headers=headers,
    )
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]["message"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    response = await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        content=b'{"columns": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
