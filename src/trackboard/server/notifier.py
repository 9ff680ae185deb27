"""Composition root of the notifier: `trackboard notifier`, or inside the embedded server.

Distributed: each `trackboard notifier` consumes the durable quorum queue
`notifier_queue_name`, bound to the run, metric and rule events of the `trackboard.events`
exchange, records the deliveries each event owes and acks after that commit; a message
that is not an event goes to the queue's dead-letter queue with the reason. Any number
may run: deliveries are unique per (rule, channel, dedupe key) and claimed before sending.

Embedded: the server's outbox relay hands committed events to the same engine in-process.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from trackboard.server.backends.circuit_breaker import CircuitBreaker
from trackboard.server.backends.database import Database
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.event_relay import bind_event_queue
from trackboard.server.backends.queue import Queue, QueueUnavailableError, RabbitQueue
from trackboard.server.config import Settings
from trackboard.server.events import Event
from trackboard.server.notifications.engine import NotificationEngine
from trackboard.server.notifications.intake import RULE_EVENTS, WATCHED_EVENTS
from trackboard.server.notifications.senders import Senders
from trackboard.server.observability.dependency_metrics import BreakerCollector
from trackboard.server.observability.logging import configure_logging
from trackboard.server.observability.notifier_metrics import NotifierInstruments
from trackboard.server.observability.prometheus import Instruments, serve_exposition
from trackboard.server.process_loop import connect_with_retry, run_until_stopped, stop_on_signals

log = logging.getLogger(__name__)

RECEIVE_BATCH = 100
RETRY_DELAY_S = 1.0


def build_notification_engine(
    settings: Settings, database: Database, senders: Senders, registry: CollectorRegistry
) -> NotificationEngine:
    return NotificationEngine(
        database,
        senders,
        NotifierInstruments(registry),
        dashboard_url=settings.dashboard_url(),
        send_timeout_s=settings.notify_send_timeout_s,
        max_age_s=settings.notify_max_age_s,
        stalled_check_s=settings.notify_stalled_check_s,
    )


async def open_notifier_queue(settings: Settings) -> RabbitQueue:
    """The notifier's queue, bound to every event type a trigger can fire on, and to rule
    changes: a notifier inside a server with a broker (`TRACKBOARD_NOTIFIER_IN_PROCESS`)
    hears of those only here, one notifier per change, so it is up to date only when it is
    the sole notifier; `trackboard notifier` also runs `watch_rule_changes`."""
    import aio_pika

    assert settings.amqp_url
    queue = await RabbitQueue.connect(settings.amqp_url, settings.notifier_queue_name)
    try:
        async with await aio_pika.connect(settings.amqp_url, timeout=10.0) as connection:
            await bind_event_queue(
                await connection.channel(),
                settings.notifier_queue_name,
                sorted(WATCHED_EVENTS | RULE_EVENTS),
                settings.events_exchange_name,
            )
    except BaseException:
        await queue.close()
        raise
    return queue


async def watch_rule_changes(settings: Settings, forget_rules: Callable[[], None]) -> Any:
    """Call `forget_rules` after every rule change; returns the connection to close.

    A queue of this process's own (exclusive, deleted with its connection) bound to the
    rule events: every notifier hears of every change, where the shared queue hands each
    event to one notifier. It is called once the queue is bound (changes made before went
    unheard) and after each reconnection (changes made meanwhile did too)."""
    import aio_pika

    assert settings.amqp_url
    connection = await aio_pika.connect_robust(
        settings.amqp_url, reconnect_interval=1.0, timeout=10.0
    )
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            settings.events_exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for key in sorted(RULE_EVENTS):
            await queue.bind(exchange, routing_key=key)

        async def on_change(_message: Any) -> None:
            forget_rules()

        await queue.consume(on_change, no_ack=True)
        connection.reconnect_callbacks.add(lambda *_: forget_rules())
    except BaseException:
        await connection.close()
        raise
    forget_rules()
    return connection


async def consume_events(queue: Queue[bytes], engine: NotificationEngine) -> None:
    """Take events off `queue` and hand them to `engine`, acking after it recorded them."""
    while True:
        try:
            deliveries = await queue.receive(RECEIVE_BATCH, timeout_s=1.0)
        except QueueUnavailableError as error:
            log.warning("notifier queue unavailable, retrying: %s", error)
            await asyncio.sleep(RETRY_DELAY_S)
            continue
        events: list[Event] = []
        readable = []
        for delivery in deliveries:
            try:
                events.append(Event.from_json(delivery.body))
            except (ValueError, KeyError, TypeError) as error:
                await queue.dead_letter(delivery, f"not an event: {error!r}")
            else:
                readable.append(delivery)
        while events:
            try:
                await engine.handle(events)
                break
            except Exception as error:
                # Keep the messages: they are acked only once what they owe is recorded.
                log.warning("recording notifications failed, retrying: %r", error)
                await asyncio.sleep(RETRY_DELAY_S)
        await queue.ack(readable)


def database_breaker(database: Database) -> dict[str, CircuitBreaker]:
    return {} if database.guard is None else {"database": database.guard.breaker}


async def run_notifier(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Consume and send until `stop` is set (or SIGTERM/SIGINT)."""
    if not settings.amqp_url:
        raise ValueError(
            "the notifier needs TRACKBOARD_AMQP_URL (the embedded server notifies in-process)"
        )
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    instruments = Instruments()
    if settings.notifier_metrics_port:
        serve_exposition(instruments, settings.worker_metrics_host, settings.notifier_metrics_port)
    # The consumer, the sender's claims and batch markings, and failed sends' records each
    # hold a connection briefly.
    database = Database.connect(settings.resolved_database_url(), pool_size=8)
    # As on the API servers and workers: with PostgreSQL stalled, intake and sends wait at
    # most the deadline for a connection, then fail at once (and are retried) while open.
    breaker = BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s)
    database.guard_primary(breaker, settings.database_deadline_s)
    senders = Senders.from_settings(settings)
    # The breaker of each notification target host, on this process's /metrics.
    instruments.registry.register(
        BreakerCollector(lambda: {**database_breaker(database), **senders.breakers.breakers()})
    )
    engine = build_notification_engine(settings, database, senders, instruments.registry)
    rule_changes = await connect_with_retry(
        "rule changes", lambda: watch_rule_changes(settings, engine.intake.forget_rules)
    )
    queue = await connect_with_retry("notifier queue", lambda: open_notifier_queue(settings))
    log.info("notifier consuming %s", settings.notifier_queue_name)
    try:
        await run_until_stopped(
            stop,
            {"notifier-consumer": consume_events(queue, engine), "notifier-engine": engine.run()},
        )
    finally:
        await queue.close()
        await rule_changes.close()
        await senders.aclose()
        await database.dispose()


def main(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run_notifier(settings))
