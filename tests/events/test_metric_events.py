"""Stored metric points are `metrics.stored` events, the same from every door, once per
run and write; the live fan-out publishes them from the event."""

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from trackboard.server.events import Event
from trackboard.server.live.service import LiveService, experiment_topic

MLFLOW = "/api/2.0/mlflow"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(e for e in events if e.type == "metrics.stored")


@pytest.fixture
def recorder(app: FastAPI) -> Recorder:
    heard = Recorder()
    app.state.database.events.subscribe("test", heard)
    return heard


async def new_run(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/experiments/0/runs", json={})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def through_v1(client: httpx.AsyncClient, run_id: str) -> None:
    body = {
        "columns": [
            {"key": "loss", "steps": [0, 1], "values": [0.5, "NaN"], "timestamps": [10, 11]},
            {"key": "acc", "steps": [1], "values": [0.75], "timestamps": [11]},
        ]
    }
    response = await client.post(f"/api/v1/runs/{run_id}/metrics", json=body)
    assert response.status_code < 300, response.text


async def through_mlflow(client: httpx.AsyncClient, run_id: str) -> None:
    def metric(key: str, value: Any, step: int, timestamp: int) -> dict[str, Any]:
        return {"key": key, "value": value, "step": step, "timestamp": timestamp}

    batch = {
        "run_id": run_id,
        "metrics": [
            metric("loss", 0.5, 0, 10),
            metric("loss", "NaN", 1, 11),
            metric("acc", 0.75, 1, 11),
        ],
    }
    response = await client.post(MLFLOW + "/runs/log-batch", json=batch)
    assert response.status_code == 200, response.text


async def test_points_stored_through_v1_and_mlflow_record_the_same_event(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    heard = {}
    for door, send in (("v1", through_v1), ("mlflow", through_mlflow)):
        run_id = await new_run(client)
        await send(client, run_id)
        (event,) = recorder.events
        recorder.events.clear()
        assert (event.run_id, event.experiment_id) == (run_id, 0)
        heard[door] = dict(event.data)
    assert (
        heard["v1"]
        == heard["mlflow"]
        == {
            "keys": ["acc", "loss"],
            "point_count": 3,
            "latest": {
                "acc": {"step": 1, "value": 0.75, "timestamp": 11},
                "loss": {"step": 1, "value": "NaN", "timestamp": 11},
            },
            # What metric notification triggers read: finite extremes, NaN/inf count.
            "stats": {
                "acc": {
                    "min": 0.75,
                    "min_step": 1,
                    "max": 0.75,
                    "max_step": 1,
                    "nonfinite": 0,
                    "nonfinite_step": None,
                    "latest": {"step": 1, "value": 0.75, "timestamp": 11},
                },
                "loss": {
                    "min": 0.5,
                    "min_step": 0,
                    "max": 0.5,
                    "max_step": 0,
                    "nonfinite": 1,
                    "nonfinite_step": 1,
                    "latest": {"step": 1, "value": "NaN", "timestamp": 11},
                },
            },
        }
    )


async def test_a_repeated_batch_records_no_second_event(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    run_id = await new_run(client)
    body = {"batch_id": "b-1", "columns": [{"key": "loss", "steps": [0], "values": [1.0]}]}
    for _ in range(2):
        response = await client.post(f"/api/v1/runs/{run_id}/metrics", json=body)
        assert response.status_code < 300, response.text
    assert [e.data["point_count"] for e in recorder.events] == [1]


async def test_live_views_get_the_points_from_the_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    live: LiveService = app.state.live
    run_id = await new_run(client)
    async with live.subscribe(experiment_topic(0)) as view:
        await through_v1(client, run_id)
        message = orjson.loads(await asyncio.wait_for(anext(view), 5))
    assert message == {
        "event": "metrics",
        "run_id": run_id,
        "experiment_id": 0,
        "points": {"loss": [[1, "NaN", 11]], "acc": [[1, 0.75, 11]]},
    }
