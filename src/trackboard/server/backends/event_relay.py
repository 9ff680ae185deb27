"""The outbox relay: publishes committed events from `event_outbox` to RabbitMQ.

Exchange: one durable topic exchange, `trackboard.events`, routing key = the event type
(`run.finished`, `metrics.stored`, ...). Messages are persistent, published with
publisher confirms and without `mandatory`: an event nobody has bound a queue to is
dropped by the broker quietly (no `Basic.Return` per event). A consumer that must not
miss events (the notifier) owns a durable queue bound to the keys it wants
(`declare_event_queue`), declared before it relies on it.

Delivery is at least once: a row is marked sent only after the broker confirmed it, so a
relay that dies in between publishes it again on its next run; consumers deduplicate by
the event id (the AMQP `message_id`). The API server and the worker each run a relay;
on PostgreSQL they take disjoint rows (`FOR UPDATE SKIP LOCKED`), so each relay publishes
in commit order but two relays may interleave: consumers must not rely on global order.

The live fan-out (`backends.broadcast`, exchange `trackboard.live`) stays a separate,
transient exchange: it carries browser-sized messages per run and experiment topic, at
most once, while this exchange carries durable domain events.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import delete, select, update

from trackboard.server.backends.database import Database
from trackboard.server.models import EventOutbox

log = logging.getLogger(__name__)

EVENTS_EXCHANGE = "trackboard.events"
DEFAULT_BATCH_SIZE = 500
DEFAULT_POLL_INTERVAL_S = 2.0
# Sent rows are kept a day: enough to look into what went out, small enough to stay cheap.
DEFAULT_RETENTION_S = 24 * 3600.0
PRUNE_INTERVAL_S = 600.0


class EventsUnavailableError(Exception):
    """The broker did not confirm the events; they stay unsent and are retried."""


class EventPublisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        """Publish (event id, type, body) triples; return once the broker holds them all,
        else raise `EventsUnavailableError`."""
        ...

    async def close(self) -> None: ...


class RabbitEventPublisher:
    """Publishes event bodies to the `trackboard.events` topic exchange, confirmed."""

    def __init__(self, connection: Any, exchange: Any, timeout_s: float) -> None:
        self._connection = connection
        self._exchange = exchange
        self._timeout_s = timeout_s

    @classmethod
    async def connect(
        cls, url: str, exchange_name: str = EVENTS_EXCHANGE, *, timeout_s: float = 10.0
    ) -> "RabbitEventPublisher":
        import aio_pika

        connection = await aio_pika.connect_robust(url, reconnect_interval=1.0, timeout=timeout_s)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        except BaseException:
            await connection.close()
            raise
        return cls(connection, exchange, timeout_s)

    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        """Publish (event id, type, body) triples; returns once the broker confirmed all."""
        import aio_pika
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS, DeliveryError

        confirms = [
            self._exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=event_id,
                    type=event_type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event_type,
                mandatory=False,
                timeout=self._timeout_s,
            )
            for event_id, event_type, body in messages
        ]
        try:
            await asyncio.gather(*confirms)
        except (DeliveryError, TimeoutError, *CONNECTION_EXCEPTIONS) as error:
            raise EventsUnavailableError(f"events not confirmed: {error!r}") from error

    async def close(self) -> None:
        await self._connection.close()


async def declare_event_queue(
    channel: Any, queue_name: str, routing_keys: Sequence[str], exchange_name: str = EVENTS_EXCHANGE
) -> Any:
    """A durable quorum queue bound to `routing_keys` (topic patterns such as `run.*`)."""
    import aio_pika

    exchange = await channel.declare_exchange(
        exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        queue_name, durable=True, arguments={"x-queue-type": "quorum"}
    )
    for key in routing_keys:
        await queue.bind(exchange, routing_key=key)
    return queue


class OutboxRelay:
    """Moves unsent `event_outbox` rows to the broker, oldest first, and prunes sent ones."""

    def __init__(
        self,
        database: Database,
        publisher: EventPublisher,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        retention_s: float = DEFAULT_RETENTION_S,
    ) -> None:
        self.database = database
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_s
        self._wake = asyncio.Event()
        self._last_prune = 0.0

    def nudge(self) -> None:
        """A transaction just committed outbox rows: relay them now, not at the next poll."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows and mark them sent; the number published."""
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    select(EventOutbox.id, EventOutbox.event_id, EventOutbox.type, EventOutbox.body)
                    .where(EventOutbox.sent_at.is_(None))
                    .order_by(EventOutbox.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self.publisher.publish(
                [(event_id, event_type, body.encode()) for _, event_id, event_type, body in rows]
            )
            ids = [row_id for row_id, *_ in rows]
            await session.execute(
                update(EventOutbox)
                .where(EventOutbox.id.in_(ids))
                .values(sent_at=time.time_ns() // 1_000_000)
            )
            log.debug("relayed events %d..%d", ids[0], ids[-1])
        return len(rows)

    async def prune(self) -> int:
        cutoff = int((time.time() - self.retention_s) * 1000)
        async with self.database.transaction() as session:
            result = await session.execute(delete(EventOutbox).where(EventOutbox.sent_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    async def drain(self) -> None:
        """Relay until no unsent row is left (or the broker fails)."""
        while await self.relay_once() == self.batch_size:
            pass

    async def close(self) -> None:
        await self.publisher.close()

    async def run(self) -> None:
        """Relay on every nudge and every poll interval, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            self._wake.clear()
            try:
                await self.drain()
                if time.monotonic() - self._last_prune > PRUNE_INTERVAL_S:
                    self._last_prune = time.monotonic()
                    await self.prune()
            except Exception:
                # The rows stay unsent: the next nudge or poll tries again.
                log.warning("event relay failed; retrying", exc_info=True)
                await asyncio.sleep(self.poll_interval_s)


async def open_outbox_relay(database: Database, amqp_url: str) -> OutboxRelay:
    """Turn the outbox on for `database` and return its relay (to be `run()`, then closed)."""
    publisher = await RabbitEventPublisher.connect(amqp_url)
    relay = OutboxRelay(database, publisher)
    database.events.outbox = True
    database.events.on_outbox_written = relay.nudge
    return relay
