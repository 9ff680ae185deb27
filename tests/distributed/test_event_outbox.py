"""Domain events through the outbox to RabbitMQ: confirmed, after commit, never lost to a crash.

Each test has its own vhost (so its own `trackboard.events` exchange) and database.
"""

import asyncio
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aio_pika import DeliveryMode
from sqlalchemy import select

from tests.distributed.conftest import WorkerProcess, api_client, distributed_settings
from trackboard.server.backends.broadcast import RabbitBroadcast
from trackboard.server.backends.database import Database
from trackboard.server.backends.event_relay import (
    OutboxRelay,
    RabbitEventPublisher,
    declare_event_queue,
)
from trackboard.server.events import Event
from trackboard.server.models import EventOutbox


@asynccontextmanager
async def event_queue(amqp_url: str, *routing_keys: str) -> AsyncIterator[Any]:
    """A durable queue bound to `trackboard.events`, as a notifier would declare it."""
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        yield await declare_event_queue(channel, "test.notifier", routing_keys)


async def next_event(queue: Any, timeout_s: float = 10.0) -> tuple[Event, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return Event.from_json(message.body), message
        assert asyncio.get_running_loop().time() < deadline, "no event arrived"
        await asyncio.sleep(0.05)


async def test_the_api_publishes_committed_events_to_the_events_exchange(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    settings = distributed_settings(tmp_path, pg_url, amqp_url)
    async with event_queue(amqp_url, "run.*") as queue, api_client(settings) as (_, client):
        response = await client.post(
            "/api/v1/experiments/0/runs", json={"name": "out", "params": {"lr": "1"}}
        )
        run = response.json()
        event, message = await next_event(queue)
        assert (event.type, event.run_id, event.data["run"]) == ("run.created", run["id"], run)
        assert message.message_id == event.id
        assert message.routing_key == "run.created"
        # Persistent (the broker keeps it on disk in a durable queue), typed, JSON.
        assert (message.delivery_mode, message.type, message.content_type) == (
            DeliveryMode.PERSISTENT,
            "run.created",
            "application/json",
        )
        # A refused change publishes nothing: the next event is the rename.
        refused = await client.post(
            f"/api/v1/runs/{run['id']}/params", json={"params": {"lr": "2"}}
        )
        assert refused.status_code == 400
        await client.patch(f"/api/v1/runs/{run['id']}", json={"name": "renamed"})
        event, _ = await next_event(queue)
        assert (event.type, event.data["changes"]) == ("run.updated", ["name"])
    database = Database.connect(pg_url)
    try:
        async with database.transaction(write=False) as session:
            unsent = select(EventOutbox).where(EventOutbox.sent_at.is_(None))
            assert list(await session.scalars(unsent)) == []
    finally:
        await database.dispose()


async def test_an_event_committed_by_a_killed_process_is_delivered_by_the_next_relay(
    pg_url: str, amqp_url: str
) -> None:
    name = f"crashed-{uuid.uuid4().hex[:8]}"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.distributed.crash_after_commit",
        pg_url,
        name,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == -9, stderr.decode()
    database = Database.connect(pg_url)
    publisher = await RabbitEventPublisher.connect(amqp_url)
    try:
        async with event_queue(amqp_url, "experiment.*") as queue:
            relay = OutboxRelay(database, publisher)
            await relay.drain()
            event, _ = await next_event(queue)
            assert event.type == "experiment.created"
            assert event.data["experiment"]["name"] == name
            # Sent rows are marked: a second relay run publishes nothing again.
            assert await relay.relay_once() == 0
    finally:
        await publisher.close()
        await database.dispose()


async def test_unrouted_messages_are_dropped_without_returns(
    amqp_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody watches: neither the live fan-out nor the events come back as Basic.Return."""
    caplog.set_level(logging.DEBUG, logger="aiormq")
    caplog.set_level(logging.DEBUG, logger="aio_pika")
    broadcast = await RabbitBroadcast.connect(amqp_url, "trackboard.live")
    publisher = await RabbitEventPublisher.connect(amqp_url)
    try:
        await broadcast.publish("run.nobody", b'{"event":"metrics","points":{}}')
        await publisher.publish([(uuid.uuid4().hex, "run.alert", b"{}")])
        await asyncio.sleep(0.5)  # a return would arrive by now
    finally:
        await broadcast.close()
        await publisher.close()
    returned = [r for r in caplog.records if "return" in r.getMessage().lower()]
    assert returned == []


async def test_a_batch_of_events_arrives_whole_and_in_order(amqp_url: str) -> None:
    """One publish writes a batch's frames at once: bodies larger than a frame (split into
    several) and empty ones arrive intact, each with its id, in the order given."""
    bodies = [b"{}", b"", b'{"big":"' + b"x" * 300_000 + b'"}', b'{"n":3}']
    sent = [(uuid.uuid4().hex, "run.alert", body) for body in bodies]
    publisher = await RabbitEventPublisher.connect(amqp_url)
    try:
        async with event_queue(amqp_url, "run.alert") as queue:
            await publisher.publish(sent)
            await publisher.publish(sent[:1])  # the next delivery tags confirm too
            received: list[tuple[str | None, str, bytes]] = []
            async with asyncio.timeout(10):
                while len(received) < len(sent) + 1:
                    message = await queue.get(no_ack=True, fail=False)
                    if message is None:
                        await asyncio.sleep(0.05)
                        continue
                    received.append((message.message_id, message.routing_key, message.body))
    finally:
        await publisher.close()
    assert received == [*sent, sent[0]]


async def test_points_written_by_a_worker_are_published_as_metrics_stored(
    tmp_path: Path, pg_url: str, amqp_url: str, workers: list[WorkerProcess]
) -> None:
    worker = WorkerProcess(pg_url, amqp_url, tmp_path)
    workers.append(worker)
    worker.start()
    settings = distributed_settings(tmp_path, pg_url, amqp_url)
    async with event_queue(amqp_url, "metrics.#") as queue, api_client(settings) as (_, client):
        run = (await client.post("/api/v1/experiments/0/runs", json={})).json()
        body = {"columns": [{"key": "loss", "steps": [0, 1, 2], "values": [3.0, 2.0, 1.0]}]}
        accepted = await client.post(f"/api/v1/runs/{run['id']}/metrics", json=body)
        assert accepted.status_code == 202, accepted.text
        event, _ = await next_event(queue, timeout_s=60)
    assert (event.type, event.run_id, event.experiment_id) == ("metrics.stored", run["id"], 0)
    assert event.data["point_count"] == 3
    assert event.data["latest"]["loss"]["value"] == 1.0
