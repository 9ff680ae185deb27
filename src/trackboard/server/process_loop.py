"""What the long-running processes share (`trackboard worker`, `trackboard notifier`):
stopping on SIGTERM/SIGINT, running their loops until then, and the outbox relay."""

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any

from prometheus_client import CollectorRegistry

from trackboard.server.backends.database import Database
from trackboard.server.backends.event_relay import (
    OutboxRelay,
    RabbitEventPublisher,
    attach_outbox_relay,
)
from trackboard.server.config import Settings
from trackboard.server.observability.notifier_metrics import outbox_backlog_gauge


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


async def run_until_stopped(
    stop: asyncio.Event, loops: dict[str, Coroutine[Any, Any, Any]]
) -> None:
    """Run the named loops until `stop` is set or one of them ends (then say why: a loop
    that ends on its own raised); cancel them all either way."""
    tasks = [asyncio.create_task(loop, name=name) for name, loop in loops.items()]
    try:
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in tasks:
            if task.done():
                task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def open_broker_relay(
    settings: Settings, database: Database, registry: CollectorRegistry
) -> OutboxRelay:
    """Turn the outbox on for `database`, relaying to RabbitMQ; the relay's backlog is
    exported on `registry`. The caller runs it (`run()`) and closes it."""
    assert settings.amqp_url
    publisher = await RabbitEventPublisher.connect(settings.amqp_url, settings.events_exchange_name)
    relay = attach_outbox_relay(
        database,
        publisher,
        poll_interval_s=settings.event_relay_poll_interval_s,
        retention_s=settings.event_outbox_retention_s,
    )
    relay.backlog_gauge = outbox_backlog_gauge(registry)
    return relay
