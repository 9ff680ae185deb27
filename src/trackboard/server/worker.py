"""Composition root of `trackboard worker`: consume metric batches from RabbitMQ and write them,
and replay the run writes queued while the database was unreachable (`replay`).

Any number of workers may run side by side: each takes its own messages (prefetch), merges
them into large writes and acks after the commit; a batch that two workers both receive
(redelivery) is stored once because its id is recorded in the same transaction.
"""

import asyncio
import contextlib
import logging

from prometheus_client import Gauge

from trackboard.server.backends.broadcast import RabbitBroadcast
from trackboard.server.backends.database import Database
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.event_relay import RabbitEventPublisher
from trackboard.server.backends.queue import Queue, QueueUnavailableError, RabbitQueue
from trackboard.server.config import Settings
from trackboard.server.live.service import LiveService
from trackboard.server.metrics.ingest.loop import build_ingest_loop
from trackboard.server.metrics.ingest.message import EncodedQueue
from trackboard.server.observability.dependency_metrics import BreakerCollector
from trackboard.server.observability.logging import configure_logging
from trackboard.server.observability.prometheus import Instruments, serve_exposition
from trackboard.server.process_loop import (
    connect_with_retry,
    open_broker_relay,
    run_until_stopped,
    stop_on_signals,
)
from trackboard.server.replay.connection import open_replay_queue
from trackboard.server.replay.replayer import Replayer

log = logging.getLogger(__name__)

DEPTH_POLL_S = 1.0


async def watch_depth(queue: Queue[bytes], ready: Gauge, dead: Gauge) -> None:
    """Export `queue`'s depth and its dead-letter queue's (every `DEPTH_POLL_S`)."""
    while True:
        with contextlib.suppress(QueueUnavailableError):
            ready.set(await queue.depth())
            dead.set(await queue.dead_letter_depth())
        await asyncio.sleep(DEPTH_POLL_S)


def breaker_settings(settings: Settings) -> BreakerSettings:
    return BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s)


async def connect_queue(settings: Settings) -> RabbitQueue:
    amqp_url = settings.amqp_url
    assert amqp_url
    return await connect_with_retry(
        "metric queue",
        lambda: RabbitQueue.connect(
            amqp_url,
            settings.ingest_queue_name,
            max_length=settings.ingest_max_queue_depth,
            prefetch=settings.ingest_prefetch,
            breaker=breaker_settings(settings),
        ),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume until `stop` is set (or SIGTERM/SIGINT); the batch in hand stays unacked."""
    if not settings.amqp_url:
        raise ValueError("the worker needs TRACKBOARD_AMQP_URL (embedded mode writes in-process)")
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    instruments = Instruments()
    if settings.worker_metrics_port:
        serve_exposition(instruments, settings.worker_metrics_host, settings.worker_metrics_port)
    database = Database.connect(settings.resolved_database_url(), pool_size=2)
    # As on the API servers: with PostgreSQL stalled a write waits at most the deadline for
    # a connection, and once the breaker is open it fails at once and is retried later (its
    # messages stay unacked) instead of waiting out asyncpg's 60 s connect each time.
    database.guard_primary(breaker_settings(settings), settings.database_deadline_s)
    queue = await connect_queue(settings)
    assert settings.amqp_url
    amqp_url, live_exchange = settings.amqp_url, settings.live_exchange_name
    broadcast = await connect_with_retry(
        "live fan-out",
        lambda: RabbitBroadcast.connect(
            amqp_url, live_exchange, breaker=breaker_settings(settings)
        ),
    )
    messages = EncodedQueue(queue, instruments)
    ingest_loop = build_ingest_loop(settings, messages, database, instruments)
    # Points this worker stores reach live views through its `metrics.stored` events.
    database.events.subscribe("live", LiveService(broadcast).on_events)
    # Events committed here go through the outbox; this relay also publishes what an API
    # instance committed and did not get to publish (it died, or its broker link was down).
    relay = await open_broker_relay(settings, database, instruments.registry)
    # Run writes the API queued while the database was unreachable: one worker at a time
    # replays them (the queue has a single active consumer), in the order they came.
    replay_queue = await connect_with_retry("replay queue", lambda: open_replay_queue(settings))
    replayer = Replayer(replay_queue, database)
    guards = {
        "database": database.guard,
        "rabbitmq": queue.guard,
        "rabbitmq:replay": replay_queue.guard,
        "rabbitmq:live": broadcast.guard,
        "rabbitmq:events": (
            relay.publisher.guard if isinstance(relay.publisher, RabbitEventPublisher) else None
        ),
    }
    instruments.registry.register(
        BreakerCollector(lambda: {n: g.breaker for n, g in guards.items() if g is not None})
    )
    log.info("worker consuming %s and %s", settings.ingest_queue_name, settings.replay_queue_name)
    try:
        await run_until_stopped(
            stop,
            {
                "ingest-consumer": ingest_loop.run(),
                "ingest-depth": watch_depth(
                    queue, instruments.ingest_queue_depth, instruments.ingest_dead_letter_depth
                ),
                "replay-depth": watch_depth(
                    replay_queue,
                    instruments.replay_queue_depth,
                    instruments.replay_dead_letter_depth,
                ),
                "event-relay": relay.run(),
                "replayer": replayer.run(),
            },
        )
    finally:
        await replay_queue.close()
        await queue.close()
        await broadcast.close()
        await relay.close()
        await database.dispose()


def main(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run_worker(settings))
