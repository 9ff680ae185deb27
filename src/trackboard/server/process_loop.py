"""What the long-running processes share (`trackboard worker`, `trackboard notifier`):
stopping on SIGTERM/SIGINT, running their loops until then, and the outbox relay."""

import asyncio
import contextlib
import io
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry

from trackboard.server.backends.database import Database
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.event_relay import (
    OutboxRelay,
    RabbitEventPublisher,
    attach_outbox_relay,
)
from trackboard.server.config import Settings
from trackboard.server.observability.notifier_metrics import outbox_backlog_gauge

log = logging.getLogger(__name__)

T = TypeVar("T")


async def connect_with_retry(what: str, connect: Callable[[], Awaitable[T]]) -> T:
    """`connect()`, tried again with backoff while the broker is starting, restarting or
    cut off: a process that starts during an outage waits for it instead of exiting."""
    from aio_pika.exceptions import AMQPConnectionError

    delay = 0.5
    while True:
        try:
            return await connect()
        except (AMQPConnectionError, OSError, TimeoutError) as error:
            log.warning("cannot reach the broker (%s), retrying in %.1f s: %r", what, delay, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


# How long a stop waits for cancelled loops to end.
STOP_TASKS_S = 10.0


async def stop_tasks(tasks: list["asyncio.Task[Any]"]) -> None:
    """Cancel the loops and wait for them, within a bound: a loop caught in a call that does
    not give way to cancellation must not hang the shutdown (the server's, or a worker's
    before it closes its connections). A stuck loop is logged with its stack."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    stopped, stuck = await asyncio.wait(tasks, timeout=STOP_TASKS_S)
    for task in stopped:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())
    for task in stuck:
        # Where it hangs is what whoever reads this needs to fix it.
        where = io.StringIO()
        task.print_stack(file=where)
        log.warning(
            "background task %s did not stop within %.0f s: %s",
            task.get_name(),
            STOP_TASKS_S,
            where.getvalue(),
        )


async def run_until_stopped(
    stop: asyncio.Event, loops: dict[str, Coroutine[Any, Any, Any]]
) -> None:
    """Run the named loops until `stop` is set or one of them ends (then say why: a loop
    that ends on its own raised); cancel them all either way (`stop_tasks`)."""
    tasks = [asyncio.create_task(loop, name=name) for name, loop in loops.items()]
    try:
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for task in tasks:
            if task.done():
                task.result()
    finally:
        await stop_tasks(tasks)


async def open_broker_relay(
    settings: Settings, database: Database, registry: CollectorRegistry
) -> OutboxRelay:
    """Turn the outbox on for `database`, relaying to RabbitMQ; the relay's backlog is
    exported on `registry`. The caller runs it (`run()`) and closes it."""
    amqp_url, exchange = settings.amqp_url, settings.events_exchange_name
    assert amqp_url
    publisher = await connect_with_retry(
        "events",
        lambda: RabbitEventPublisher.connect(
            amqp_url,
            exchange,
            breaker=BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s),
        ),
    )
    relay = attach_outbox_relay(
        database,
        publisher,
        poll_interval_s=settings.event_relay_poll_interval_s,
        retention_s=settings.event_outbox_retention_s,
    )
    relay.backlog_gauge = outbox_backlog_gauge(registry)
    return relay
