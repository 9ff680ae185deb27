"""Embedded mode over the API: the in-process queue and group-commit writer."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from tests.api.factories import make_run
from trackboard.server.backends.queue import LocalQueue
from trackboard.server.errors import Unavailable
from trackboard.server.metrics.chunk_codec import Points
from trackboard.server.metrics.ingest import Ingestor
from trackboard.server.metrics.ingest_message import IngestMessage
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
    assert all(r.json() == {"accepted": 100, "duplicate": False} for r in responses)
    history = await client.get(f"{url}/loss", params={"format": "columns"})
    assert history.json()["steps"] == list(range(4000))
    writes = sample(app, "trackboard_ingest_write_batch_messages_count")
    assert sample(app, "trackboard_ingest_write_batch_messages_sum") == 40
    assert writes < 40, "each request committed alone: no group commit"
    assert sample(app, "trackboard_ingest_freshness_seconds_count") == 40


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
    queue = LocalQueue(max_length=2)
    ingestor = Ingestor(queue, Instruments(), waits_for_commit=False, max_depth=100)
    points = Points.empty()
    message = IngestMessage("r", 1, None, {"x": points}, 0)
    await ingestor.publish(message)
    await ingestor.publish(message)
    with pytest.raises(Unavailable) as refused:
        await ingestor.publish(message)
    assert refused.value.retry_after_s >= 1
