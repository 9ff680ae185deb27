"""The RabbitMQ publish breakers (metric batches, events) with the broker stalled behind a
TCP proxy (connections open, no byte moves): a publish waits at most its deadline, and once
the breaker is open none waits at all; it closes when the broker answers again (a round
trip in the background for metric batches, the next pass's publish for events)."""

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.distributed.tcp_proxy import TcpProxy
from trackboard.server.backends.broadcast import RabbitBroadcast
from trackboard.server.backends.circuit_breaker import BreakerState
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.event_relay import EventsUnavailableError, RabbitEventPublisher
from trackboard.server.backends.queue import QueueUnavailableError, RabbitQueue

DEADLINE_S = 0.5


async def test_a_stalled_broker_refuses_publishes_at_once_after_the_threshold(
    amqp_url: str,
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(amqp_url).port or 5672)
    port = await proxy.start()
    proxied = amqp_url.replace(f":{urlsplit(amqp_url).port}/", f":{port}/")
    breaker = BreakerSettings(failure_threshold=3, reset_after_s=0.5)
    queue = await RabbitQueue.connect(
        proxied, f"tb-breaker-{uuid.uuid4().hex[:8]}", timeout_s=DEADLINE_S, breaker=breaker
    )
    try:
        await queue.publish(b"before")
        proxy.stall()
        costs_s = []
        for _ in range(breaker.failure_threshold + 5):
            started = time.perf_counter()
            with pytest.raises(QueueUnavailableError):
                await queue.publish(b"during")
            costs_s.append(time.perf_counter() - started)
        print("stalled broker: publishes cost " + ", ".join(f"{c * 1000:.0f}" for c in costs_s))
        assert all(cost < DEADLINE_S + 0.3 for cost in costs_s[: breaker.failure_threshold])
        assert all(cost < 0.05 for cost in costs_s[breaker.failure_threshold :])
        assert queue.guard.breaker.state is not BreakerState.CLOSED

        proxy.restore()
        deadline = time.monotonic() + 15
        while queue.guard.breaker.state is not BreakerState.CLOSED:
            assert time.monotonic() < deadline, "the breaker never closed"
            with pytest.raises(QueueUnavailableError):
                await queue.publish(b"still refused")
            await asyncio.sleep(0.1)
        await queue.publish(b"after")
    finally:
        await queue.close()
        await proxy.close()


async def test_a_stalled_broker_refuses_event_publishes_at_once_after_the_threshold(
    amqp_url: str,
) -> None:
    """The outbox relay's publisher has its own breaker: a stalled broker costs a relay pass
    at most the deadline, then nothing, while the events wait in the outbox."""
    proxy = TcpProxy("127.0.0.1", urlsplit(amqp_url).port or 5672)
    port = await proxy.start()
    proxied = amqp_url.replace(f":{urlsplit(amqp_url).port}/", f":{port}/")
    breaker = BreakerSettings(failure_threshold=3, reset_after_s=0.5)
    exchange = f"tb-events-{uuid.uuid4().hex[:8]}"
    publisher = await RabbitEventPublisher.connect(
        proxied, exchange, timeout_s=DEADLINE_S, breaker=breaker
    )
    event = [(uuid.uuid4().hex, "run.updated", b"{}")]
    try:
        await publisher.publish(event)
        proxy.stall()
        costs_s = []
        for _ in range(breaker.failure_threshold + 5):
            started = time.perf_counter()
            with pytest.raises(EventsUnavailableError):
                await publisher.publish(event)
            costs_s.append(time.perf_counter() - started)
        print(
            "stalled broker: event publishes cost " + ", ".join(f"{c * 1000:.0f}" for c in costs_s)
        )
        assert all(cost < DEADLINE_S + 0.3 for cost in costs_s[: breaker.failure_threshold])
        assert all(cost < 0.05 for cost in costs_s[breaker.failure_threshold :])
        assert publisher.guard.breaker.state is BreakerState.OPEN

        proxy.restore()
        deadline = time.monotonic() + 15
        while True:  # after the reset time, the next publish is the probe
            try:
                await publisher.publish(event)
                break
            except EventsUnavailableError:
                assert time.monotonic() < deadline, "event publishes never resumed"
                await asyncio.sleep(0.1)
        assert publisher.guard.breaker.state is BreakerState.CLOSED
    finally:
        await publisher.close()
        await proxy.close()


async def test_a_stalled_broker_drops_live_messages_without_holding_the_publisher(
    amqp_url: str,
) -> None:
    """Live messages announce commits already made: with the broker stalled a publish costs
    at most its deadline, then nothing (dropped, counted), and none raises."""
    proxy = TcpProxy("127.0.0.1", urlsplit(amqp_url).port or 5672)
    port = await proxy.start()
    proxied = amqp_url.replace(f":{urlsplit(amqp_url).port}/", f":{port}/")
    breaker = BreakerSettings(failure_threshold=3, reset_after_s=0.5)
    broadcast = await RabbitBroadcast.connect(
        proxied,
        f"tb-live-{uuid.uuid4().hex[:8]}",
        breaker=breaker,
        publish_timeout_s=DEADLINE_S,
    )
    try:
        proxy.stall()
        costs_s = []
        # Frames of a stalled socket first fill its buffers: big messages get there soon.
        message = b"x" * 1_000_000
        for _ in range(breaker.failure_threshold + 30):
            started = time.perf_counter()
            await broadcast.publish("run.1", message)
            costs_s.append(time.perf_counter() - started)
            if broadcast.guard.breaker.state is BreakerState.OPEN:
                break
        print(
            "stalled broker: live publishes cost " + ", ".join(f"{c * 1000:.0f}" for c in costs_s)
        )
        assert broadcast.guard.breaker.state is BreakerState.OPEN
        assert max(costs_s) < DEADLINE_S + 0.3
        started = time.perf_counter()
        await broadcast.publish("run.1", b"refused at once")
        assert time.perf_counter() - started < 0.05
        assert broadcast.dropped >= breaker.failure_threshold + 1
    finally:
        proxy.restore()
        await broadcast.close()
        await proxy.close()
