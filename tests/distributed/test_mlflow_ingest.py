"""MLflow's log-metric and log-batch in distributed mode, against the real RabbitMQ and
PostgreSQL: refused with 503 when the broker's queue is full, counted, then written by a
worker that publishes live events and compacts the single-point chunks."""

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from tests.distributed.conftest import api_client, distributed_settings
from trackboard.server.backends.broadcast import Subscription
from trackboard.server.live.service import LiveService, run_topic
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.observability.prometheus import Instruments
from trackboard.server.worker import run_worker

API = "/api/2.0/mlflow"
QUEUE_BOUND = 2


def metric(step: int) -> dict[str, Any]:
    return {"key": "loss", "value": step / 10, "timestamp": 1_000 + step, "step": step}


async def chunk_sizes(pg_url: str, run_id: str) -> list[int]:
    connection = await asyncpg.connect(
        make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        rows = await connection.fetch(
            "SELECT point_count FROM metric_chunks WHERE run_id = $1 ORDER BY min_step", run_id
        )
    finally:
        await connection.close()
    return [row["point_count"] for row in rows]


async def next_steps(events: Subscription) -> list[int]:
    event = orjson.loads(await asyncio.wait_for(anext(events), 15))
    return [point[0] for point in event["points"]["loss"]]


async def new_run(client: httpx.AsyncClient) -> str:
    created = await client.post(API + "/experiments/create", json={"name": "distributed"})
    body = {"experiment_id": created.json()["experiment_id"], "start_time": 1, "user_id": "u"}
    run = await client.post(API + "/runs/create", json=body)
    run_id: str = run.json()["run"]["info"]["run_id"]
    return run_id


async def depth_reaches(ingestor: Ingestor, depth: int) -> None:
    deadline = time.monotonic() + 10
    while ingestor.depth < depth:
        assert time.monotonic() < deadline, f"the queue depth never reached {depth}"
        await asyncio.sleep(0.05)


async def depth_below(ingestor: Ingestor, depth: int) -> None:
    deadline = time.monotonic() + 10
    while ingestor.depth >= depth:
        assert time.monotonic() < deadline, f"the queue depth stayed at {ingestor.depth}"
        await asyncio.sleep(0.05)


def points_ingested(app: FastAPI) -> float:
    instruments: Instruments = app.state.instruments
    return instruments.registry.get_sample_value("trackboard_metric_points_ingested_total") or 0


@pytest.mark.timeout(120)
async def test_mlflow_points_are_refused_when_the_queue_is_full_then_written_live_and_compacted(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    settings = distributed_settings(tmp_path, pg_url, amqp_url).model_copy(
        update={"ingest_max_queue_depth": QUEUE_BOUND, "worker_metrics_port": 0}
    )
    async with api_client(settings) as (app, client):
        run_id = await new_run(client)
        live: LiveService = app.state.live
        async with live.subscribe(run_topic(run_id)) as events:
            # No worker yet: two requests fill the queue, the third is refused.
            single = {"run_id": run_id, **metric(0)}
            assert (await client.post(API + "/runs/log-metric", json=single)).status_code == 200
            batch = {"run_id": run_id, "metrics": [metric(1)]}
            assert (await client.post(API + "/runs/log-batch", json=batch)).status_code == 200
            # The API refuses on the broker's count of the queue, which it polls every 0.2 s.
            ingestor: Ingestor = app.state.ingestor
            await depth_reaches(ingestor, QUEUE_BOUND)
            for path, body in [
                ("/runs/log-metric", {"run_id": run_id, **metric(2)}),
                ("/runs/log-batch", {"run_id": run_id, "metrics": [metric(2)]}),
            ]:
                refused = await client.post(API + path, json=body)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                assert int(refused.headers["Retry-After"]) >= 1
            assert points_ingested(app) == 2

            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(settings, stop))
            try:
                # Live views get one message per run and write: the worker may write both.
                steps = await next_steps(events)
                if len(steps) < 2:
                    steps += await next_steps(events)
                assert sorted(steps) == [0, 1]
                await depth_below(ingestor, QUEUE_BOUND)
                # One point a request, each written on its own: small chunks to compact.
                for step in range(2, 10):
                    body = {"run_id": run_id, **metric(step)}
                    response = await client.post(API + "/runs/log-metric", json=body)
                    assert response.status_code == 200, response.text
                    assert await next_steps(events) == [step]
                assert points_ingested(app) == 10
                deadline = time.monotonic() + 30
                while (sizes := await chunk_sizes(pg_url, run_id)) != [10]:
                    assert time.monotonic() < deadline, f"not compacted: chunks of {sizes} points"
                    await asyncio.sleep(0.2)
            finally:
                stop.set()
                await asyncio.wait_for(worker, 30)
        history = await client.get(
            API + "/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}
        )
        assert [m["step"] for m in history.json()["metrics"]] == list(range(10))
