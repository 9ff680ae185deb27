"""/api/v1/ws over a real socket: subscribe, receive committed events, bad input answered."""

import asyncio
import json
import math
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from websockets.asyncio.client import ClientConnection, connect

from trackboard.server.backends.broadcast import LocalBroadcast
from trackboard.server.live.routes import router
from trackboard.server.live.service import Live, LiveService

RUN_ID = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Columns:
    steps: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


class RunDoc(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")
    id: str
    experiment_id: int
    status: str
    loss: float


def columns(steps: list[int], values: list[float | str]) -> Columns:
    return Columns(
        np.asarray(steps, dtype=np.int64),
        np.asarray([1_700_000_000_000 + s for s in steps], dtype=np.int64),
        np.asarray([float(v) for v in values], dtype=np.float64),
    )


def make_app(max_points_per_key: int = 1_000) -> FastAPI:
    app = FastAPI()
    app.state.live = LiveService(LocalBroadcast(), max_points_per_key=max_points_per_key)
    app.include_router(router)

    # Stands in for the services that publish after their commit.
    @app.post("/test/metrics")
    async def publish_metrics(body: dict[str, Any], live: Live) -> None:
        series = {k: columns(v["steps"], v["values"]) for k, v in body["series"].items()}
        await live.publish_metrics(body["run_id"], body["experiment_id"], series)

    @app.post("/test/run/{event}")
    async def publish_run(event: str, body: RunDoc, live: Live) -> None:
        if event == "created":
            await live.publish_run_created(body)
        else:
            await live.publish_run_updated(body)

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Harness:
    def __init__(self, base: str, http: httpx.AsyncClient) -> None:
        self.base = base
        self.http = http

    async def publish(self, run_id: str, experiment_id: int, series: dict[str, Any]) -> None:
        body = {"run_id": run_id, "experiment_id": experiment_id, "series": series}
        (await self.http.post("/test/metrics", json=body)).raise_for_status()

    async def post(self, path: str, **kwargs: Any) -> None:
        (await self.http.post(path, **kwargs)).raise_for_status()

    @asynccontextmanager
    async def socket(self) -> AsyncIterator[ClientConnection]:
        async with connect(f"ws://{self.base}/api/v1/ws", open_timeout=5) as ws:
            yield ws


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    port = free_port()
    config = uvicorn.Config(
        make_app(max_points_per_key=3), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    base = f"127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        yield Harness(base, http)
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def receive(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def subscribe(ws: ClientConnection, topic: dict[str, Any]) -> None:
    await ws.send(json.dumps({"subscribe": topic}))
    assert await receive(ws) == {"event": "subscribed", "topic": topic}


async def test_run_subscriber_receives_points_with_non_finite_values_as_words(
    harness: Harness,
) -> None:
    async with harness.socket() as ws:
        await subscribe(ws, {"run_id": RUN_ID})
        await harness.publish(RUN_ID, 1, {"loss": {"steps": [1, 2], "values": [0.5, "NaN"]}})
        event = await receive(ws)
    assert event == {
        "event": "metrics",
        "run_id": RUN_ID,
        "experiment_id": 1,
        "points": {"loss": [[1, 0.5, 1_700_000_000_001], [2, "NaN", 1_700_000_000_002]]},
    }


async def test_experiment_subscriber_gets_the_latest_point_of_each_key(harness: Harness) -> None:
    async with harness.socket() as ws:
        await subscribe(ws, {"experiment_id": 1})
        await harness.publish(RUN_ID, 1, {"acc": {"steps": [5, 9, 7], "values": [0.1, 0.9, 0.7]}})
        event = await receive(ws)
    assert event["points"] == {"acc": [[9, 0.9, 1_700_000_000_009]]}


async def test_a_large_batch_is_capped_and_marked_truncated(harness: Harness) -> None:
    async with harness.socket() as ws:
        await subscribe(ws, {"run_id": RUN_ID})
        await harness.publish(
            RUN_ID, 1, {"x": {"steps": [1, 2, 3, 4, 5], "values": [1, 2, 3, 4, 5]}}
        )
        event = await receive(ws)
    # Live views re-read a truncated batch's history: only the latest point comes along.
    assert event["truncated"] is True
    assert event["points"] == {"x": [[5, 5, 1_700_000_000_005]]}


async def test_run_events_reach_run_and_experiment_subscribers(harness: Harness) -> None:
    run = {"id": RUN_ID, "experiment_id": 4, "status": "FINISHED", "loss": math.inf}
    async with harness.socket() as by_run, harness.socket() as by_experiment:
        await subscribe(by_run, {"run_id": RUN_ID})
        await subscribe(by_experiment, {"experiment_id": 4})
        await harness.post("/test/run/created", json={**run, "status": "RUNNING", "loss": 1.0})
        await harness.post(
            "/test/run/updated",
            content=RunDoc(**run).model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        for ws in (by_run, by_experiment):
            assert (await receive(ws))["event"] == "run_created"
            updated = await receive(ws)
            assert updated["event"] == "run_updated"
            assert updated["run"]["status"] == "FINISHED"
            assert updated["run"]["loss"] == "Infinity"


async def test_bad_messages_are_answered_and_the_socket_stays_open(harness: Harness) -> None:
    async with harness.socket() as ws:
        await ws.send("not json")
        assert (await receive(ws))["event"] == "error"
        await ws.send(json.dumps({"subscribe": {"run_id": "not-hex"}}))
        error = await receive(ws)
        assert error["event"] == "error"
        assert "run_id" in error["message"]
        await ws.send(json.dumps({"ping": 7}))
        assert await receive(ws) == {"event": "pong", "ping": 7}


async def test_after_unsubscribe_no_more_events_arrive(harness: Harness) -> None:
    async with harness.socket() as ws:
        await subscribe(ws, {"run_id": RUN_ID})
        await ws.send(json.dumps({"unsubscribe": {"run_id": RUN_ID}}))
        assert await receive(ws) == {"event": "unsubscribed", "topic": {"run_id": RUN_ID}}
        await harness.publish(RUN_ID, 1, {"x": {"steps": [1], "values": [1]}})
        await ws.send(json.dumps({"ping": 1}))
        assert await receive(ws) == {"event": "pong", "ping": 1}


async def test_subscribing_twice_keeps_one_subscription(harness: Harness) -> None:
    async with harness.socket() as ws:
        await subscribe(ws, {"run_id": RUN_ID})
        await subscribe(ws, {"run_id": RUN_ID})
        await harness.publish(RUN_ID, 1, {"x": {"steps": [1], "values": [1]}})
        assert (await receive(ws))["event"] == "metrics"
        await ws.send(json.dumps({"ping": 2}))
        assert await receive(ws) == {"event": "pong", "ping": 2}
