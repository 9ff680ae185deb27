"""The outbox relay: publishes committed events from `event_outbox` to RabbitMQ.

Exchange: one durable topic exchange, `trackboard.events`, routing key = the event type
(`run.finished`, `metrics.stored`, ...). Messages are persistent, published with
publisher confirms and without `mandatory`: an event nobody has bound a queue to is
dropped by the broker quietly (no `Basic.Return` per event). A consumer that must not
miss events (the notifier) owns a durable queue bound to the keys it wants
(`declare_event_queue`), declared before it relies on it.

Two paths, one guarantee. A process publishes the events it committed itself from memory,
right after the commit (`enqueue`, called by the event bus): no query stands between the
commit and the publish. Their rows are marked sent after the broker confirmed them, in one
`UPDATE` for everything confirmed in the last `MARK_INTERVAL_S`. A periodic poll publishes
unsent rows older than `claim_after_s` from the table: the events of a process that died
between its commit and its publish (or before marking them), or that the broker refused.
Marking and polling run in a loop of their own beside the publishing one: their database
round trips never hold up the next publish.
Delivery is at least once: a row is marked sent only after the broker confirmed it, so a
relay that dies in between publishes it again on its next run, and a poll can overlap a
publish still unmarked; consumers deduplicate by the event id (the AMQP `message_id`).
The API server and the worker each run a relay; polls on PostgreSQL take disjoint rows
(`FOR UPDATE SKIP LOCKED`). A relay publishes its own events in dispatch order, but
relays interleave: consumers must not rely on global order.

The live fan-out (`backends.broadcast`, exchange `trackboard.live`) stays a separate,
transient exchange: it carries browser-sized messages per run and experiment topic, at
most once, while this exchange carries durable domain events.

The embedded server has no broker: its relay hands the events to the in-process notifier
(`HandlerEventPublisher`) and marks them sent once the notifier has recorded what they
owe, so the outbox gives the embedded notifier the same no-loss guarantee.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.cancellation import raise_unless_stopping
from trackboard.server.backends.database import Database, one_of
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard
from trackboard.server.events import Event
from trackboard.server.models import EventOutbox

log = logging.getLogger(__name__)

OUTBOX = EventOutbox.__table__

EVENTS_EXCHANGE = "trackboard.events"
DEFAULT_BATCH_SIZE = 500
DEFAULT_POLL_INTERVAL_S = 2.0
# Sent rows are kept a day: enough to look into what went out, small enough to stay cheap.
DEFAULT_RETENTION_S = 24 * 3600.0
PRUNE_INTERVAL_S = 600.0
# After a pass, commits arriving within this are relayed together in the next one: under a
# stream of small writes (one event each) the relay makes at most ~20 passes a second.
COALESCE_S = 0.05
# Events published from memory are marked sent together, at most this often: one UPDATE a
# half second instead of a transaction per pass. A crash in between re-publishes them.
MARK_INTERVAL_S = 0.5
# How long `close()` waits for the last pass, then for the last marking.
CLOSE_TIMEOUT_S = 5.0
# A poll leaves younger unsent rows to the process that committed them (publishing from
# memory): only older ones are orphans. Well above MARK_INTERVAL_S, so that a poll rarely
# publishes again what was just published and not yet marked.
DEFAULT_CLAIM_AFTER_S = 5.0


class EventsUnavailableError(Exception):
    """The broker did not confirm the events; they stay unsent and are retried."""


class EventPublisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        """Publish (event id, type, body) triples; return once the broker holds them all,
        else raise `EventsUnavailableError`."""
        ...

    async def close(self) -> None: ...


class RabbitEventPublisher:
    """Publishes event bodies to the `trackboard.events` topic exchange, confirmed, behind
    its breaker (`rabbitmq:events`): with the broker stalled a pass waits at most
    `timeout_s`, and while the breaker is open a pass fails at once (the events wait in the
    outbox); the next pass after the breaker's reset time is its probe."""

    def __init__(
        self,
        connection: Any,
        channel: Any,
        exchange_name: str,
        timeout_s: float,
        breaker: BreakerSettings = BreakerSettings(),
    ) -> None:
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        self._connection = connection
        self._channel = channel
        self._exchange_name = exchange_name
        self.guard = DependencyGuard(
            breaker.breaker("rabbitmq:events"),
            deadline_s=timeout_s,
            unavailable=EventsUnavailableError,
            is_failure=lambda error: isinstance(error, CONNECTION_EXCEPTIONS),
        )

    @classmethod
    async def connect(
        cls,
        url: str,
        exchange_name: str = EVENTS_EXCHANGE,
        *,
        timeout_s: float = 10.0,
        breaker: BreakerSettings = BreakerSettings(),
    ) -> "RabbitEventPublisher":
        import aio_pika

        connection = await aio_pika.connect_robust(url, reconnect_interval=1.0, timeout=timeout_s)
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, channel, exchange_name, timeout_s, breaker)

    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        """Publish (event id, type, body) triples; returns once the broker confirmed all."""
        from aio_pika.exceptions import (
            CONNECTION_EXCEPTIONS,
            ChannelInvalidStateError,
            DeliveryError,
        )

        async def confirmed() -> None:
            if self._channel.is_closed:
                raise ChannelInvalidStateError(f"{self._channel!r} closed")
            channel = await self._channel.get_underlay_channel()
            await asyncio.gather(*await queue_publishes(channel, self._exchange_name, messages))

        try:
            await self.guard.call(confirmed)  # EventsUnavailableError past the deadline
        except asyncio.CancelledError as error:
            # Unless this task's stop: a channel closed under the publish (see
            # `backends.cancellation`). Raised on, it would end the relay's loop for good.
            closed = EventsUnavailableError("the channel closed before the broker confirmed")
            raise_unless_stopping(error, closed)
        except (DeliveryError, TimeoutError, *CONNECTION_EXCEPTIONS) as error:
            raise EventsUnavailableError(f"events not confirmed: {error!r}") from error

    async def close(self) -> None:
        self.guard.close()
        await self._connection.close()


async def queue_publishes(
    channel: Any, exchange_name: str, messages: Sequence[tuple[str, str, bytes]]
) -> list["asyncio.Future[Any]"]:
    """Queue the messages' frames on an aiormq channel in confirm mode, all in one write to
    the socket, and return the futures of their confirms.

    The bookkeeping is aiormq's own `basic_publish`'s (the channel's next delivery tag and
    its future in `confirmations`, which the channel resolves on the broker's ack, fails on
    a nack and on the channel's close), done for the whole batch under the channel's lock:
    `basic_publish` needs a task per message to await the confirms together and writes to
    the socket once per message. CPU per event in batches of 10, in-process, alternating
    blocks: 134 µs through `Exchange.publish` (an `aio_pika.Message` each, every write
    awaited), 67 µs through `basic_publish(wait=False)`, 45 µs this way. The attributes
    used are aiormq 7's; tests/distributed publishes through them against RabbitMQ."""
    import aio_pika
    import aiormq
    from aiormq.abc import ChannelFrame
    from pamqp.body import ContentBody
    from pamqp.header import ContentHeader

    persistent = int(aio_pika.DeliveryMode.PERSISTENT)
    size = channel.max_content_size
    frames: list[Any] = []
    for event_id, event_type, body in messages:
        properties = aiormq.spec.Basic.Properties(
            content_type="application/json",
            delivery_mode=persistent,
            message_id=event_id,
            message_type=event_type,
        )
        frames.append(
            aiormq.spec.Basic.Publish(
                exchange=exchange_name, routing_key=event_type, mandatory=False
            )
        )
        frames.append(ContentHeader(properties=properties, body_size=len(body)))
        frames.extend(ContentBody(body[at : at + size]) for at in range(0, len(body), size))
    # Encoded before any delivery tag is taken: a tag taken for a message the broker never
    # got would shift every later confirm onto the wrong message.
    payload = ChannelFrame.marshall(channel.number, frames)
    confirms: list[asyncio.Future[Any]] = []
    async with channel.lock:
        for _ in messages:
            channel.delivery_tag += 1
            confirms.append(channel.create_future())
            channel.confirmations[channel.delivery_tag] = confirms[-1]
        # No await between the tags and the write: the frames go out in the tags' order.
        channel.write_queue.put_nowait(payload)
    return confirms


class HandlerEventPublisher:
    """Hands events to an in-process handler (the embedded notifier); "confirmed" when the
    handler returns, so a handler that fails leaves them unsent, to be relayed again."""

    def __init__(self, handler: Callable[[Sequence[Event]], Awaitable[None]]) -> None:
        self._handler = handler

    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        try:
            await self._handler([Event.from_json(body) for _, _, body in messages])
        except Exception as error:
            raise EventsUnavailableError(f"events not handled: {error!r}") from error

    async def close(self) -> None:
        return None


async def declare_event_queue(
    channel: Any, queue_name: str, routing_keys: Sequence[str], exchange_name: str = EVENTS_EXCHANGE
) -> Any:
    """A durable quorum queue bound to `routing_keys` (topic patterns such as `run.*`)."""
    queue = await channel.declare_queue(
        queue_name, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await bind_event_queue(channel, queue_name, routing_keys, exchange_name)
    return queue


async def bind_event_queue(
    channel: Any, queue_name: str, routing_keys: Sequence[str], exchange_name: str = EVENTS_EXCHANGE
) -> None:
    """Bind an existing queue to `routing_keys` of the events exchange (declared if new).
    Bindings of a durable queue outlive the connection that made them."""
    import aio_pika

    exchange = await channel.declare_exchange(
        exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(queue_name, passive=True)
    for key in routing_keys:
        await queue.bind(exchange, routing_key=key)


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
        claim_after_s: float = DEFAULT_CLAIM_AFTER_S,
    ) -> None:
        self.database = database
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_s
        self.claim_after_s = claim_after_s
        # Set by `enqueue` (the publishing loop) and by `nudge` (the upkeep loop).
        self._wake = asyncio.Event()
        self._wake_upkeep = asyncio.Event()
        # Committed here, not yet published; published, not yet marked sent (event ids).
        self._fresh: list[Event] = []
        self._unmarked: list[str] = []
        self._last_mark = 0.0
        self._last_prune = 0.0
        # The first poll, at start, takes every unsent row: what a predecessor left.
        self._next_poll = 0.0
        self._first_poll = True
        # The passes in progress (a publish, an upkeep): each runs to its end even when
        # `run()` is cancelled (see `_shielded`).
        self._passes: set[asyncio.Future[Any]] = set()
        # Set to a gauge to export the backlog after every poll.
        self.backlog_gauge: Any = None

    def enqueue(self, events: Sequence[Event]) -> None:
        """`events` were just committed with their outbox rows: publish them from memory."""
        self._fresh.extend(events)
        self._wake.set()

    def nudge(self) -> None:
        """Poll the table now, not at the next poll interval."""
        self._next_poll = 0.0
        self._wake_upkeep.set()

    async def publish_fresh(self) -> int:
        """Publish the enqueued events; the number published. Refused ones stay unsent in
        the table, for a poll to take once they are `claim_after_s` old."""
        events, self._fresh = self._fresh, []
        if events:
            await self.publisher.publish([(event.id, event.type, event.body) for event in events])
            self._unmarked.extend(event.id for event in events)
        return len(events)

    async def mark_published(self) -> None:
        """Mark the rows of the events published from memory as sent, in one statement."""
        self._last_mark = time.monotonic()
        event_ids = list(self._unmarked)
        if not event_ids:
            return
        try:
            async with self.database.transaction() as session:
                await session.execute(
                    update(EventOutbox)
                    .where(one_of(session, OUTBOX.c.event_id, event_ids))
                    .values(sent_at=time.time_ns() // 1_000_000)
                )
        except Exception:
            # The rows stay unsent: a poll publishes them again (at least once).
            del self._unmarked[: len(event_ids)]
            raise
        # Only now: a marking cancelled at shutdown leaves them to `close()`.
        del self._unmarked[: len(event_ids)]

    async def _unsent(
        self, session: AsyncSession, *, lock: bool, older_than_s: float
    ) -> list[tuple[int, str, str, str]]:
        query = (
            select(EventOutbox.id, EventOutbox.event_id, EventOutbox.type, EventOutbox.body)
            .where(EventOutbox.sent_at.is_(None))
            .order_by(EventOutbox.id)
            .limit(self.batch_size)
        )
        if older_than_s > 0:
            cutoff = time.time_ns() // 1_000_000 - int(older_than_s * 1000)
            query = query.where(EventOutbox.created_at <= cutoff)
        if lock:
            query = query.with_for_update(skip_locked=True)
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]

    async def _publish(self, rows: Sequence[tuple[int, str, str, str]]) -> None:
        await self.publisher.publish(
            [(event_id, event_type, body.encode()) for _, event_id, event_type, body in rows]
        )

    @staticmethod
    async def _mark_sent(session: AsyncSession, ids: list[int]) -> None:
        await session.execute(
            update(EventOutbox)
            .where(EventOutbox.id.in_(ids))
            .values(sent_at=time.time_ns() // 1_000_000)
        )

    async def relay_once(self, older_than_s: float = 0.0) -> int:
        """Publish one batch of unsent rows (committed at least `older_than_s` ago) and mark
        them sent; the number published."""
        if self.database.is_sqlite:
            # One writer at a time: holding the write lock while publishing would block the
            # embedded notifier's own write. SQLite means one process, so one relay, and
            # nothing to lock the rows against.
            async with self.database.transaction(write=False) as session:
                rows = await self._unsent(session, lock=False, older_than_s=older_than_s)
            if rows:
                await self._publish(rows)
                async with self.database.transaction() as session:
                    await self._mark_sent(session, [row[0] for row in rows])
            return len(rows)
        async with self.database.transaction() as session:
            rows = await self._unsent(session, lock=True, older_than_s=older_than_s)
            if rows:
                await self._publish(rows)
                await self._mark_sent(session, [row[0] for row in rows])
        return len(rows)

    async def backlog(self) -> int:
        """Committed events not yet marked sent (a published one waits up to MARK_INTERVAL_S)."""
        async with self.database.transaction(write=False) as session:
            query = select(func.count()).where(EventOutbox.sent_at.is_(None))
            return int(await session.scalar(query) or 0)

    async def prune(self) -> int:
        cutoff = int((time.time() - self.retention_s) * 1000)
        async with self.database.transaction() as session:
            result = await session.execute(delete(EventOutbox).where(EventOutbox.sent_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)

    async def drain(self, older_than_s: float = 0.0) -> None:
        """Relay unsent rows (committed at least `older_than_s` ago) until none is left (or
        the broker fails)."""
        while await self.relay_once(older_than_s) == self.batch_size:
            pass

    async def close(self) -> None:
        """Let the passes in progress end, mark what was published (a relay stopping
        normally leaves nothing to publish again), then close the publisher."""
        if self._passes:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    results = await asyncio.gather(*self._passes, return_exceptions=True)
            except TimeoutError:
                # A pass stuck on a dead broker or database must not hold up shutdown; its
                # events stay unsent and the next relay publishes them (at least once).
                log.warning("event relay: the last pass did not end within %s s", CLOSE_TIMEOUT_S)
            else:
                # What a failed pass did publish before failing is still to be marked, below.
                for result in results:
                    if isinstance(result, Exception):
                        log.warning("event relay: the last pass failed", exc_info=result)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.mark_published()
        except Exception:
            log.warning("event relay: marking published events failed", exc_info=True)
        await self.publisher.close()

    async def poll(self) -> None:
        """Publish the table's orphans, export the backlog, prune now and then."""
        older_than_s = 0.0 if self._first_poll else self.claim_after_s
        await self.drain(older_than_s)
        self._first_poll = False
        if self.backlog_gauge is not None:
            self.backlog_gauge.set(await self.backlog())
        if time.monotonic() - self._last_prune > PRUNE_INTERVAL_S:
            self._last_prune = time.monotonic()
            await self.prune()

    def _until_due(self) -> float:
        """Seconds until the next poll, or the next marking when published events wait."""
        now = time.monotonic()
        due = self._next_poll
        if self._unmarked:
            due = min(due, self._last_mark + MARK_INTERVAL_S)
        return max(0.0, due - now)

    async def _upkeep_pass(self) -> None:
        if self._unmarked and time.monotonic() - self._last_mark >= MARK_INTERVAL_S:
            await self.mark_published()
        if time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + self.poll_interval_s
            await self.poll()

    async def _shielded(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` to its end even if the caller is cancelled; `close()` waits for it.

        A pass cancelled inside a write transaction interrupts its own rollback, which
        leaves SQLite's write lock held, and `close()`'s marking then waited out the 30 s
        busy timeout. Cancelled, `run()` stops at once and the pass ends on its own."""
        done = asyncio.ensure_future(work())
        self._passes.add(done)
        done.add_done_callback(self._passes.discard)
        await asyncio.shield(done)

    async def _loop(
        self,
        wake: asyncio.Event,
        until_due: Callable[[], float | None],
        work: Callable[[], Awaitable[None]],
    ) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and the loop then outlives its shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(until_due()):
                    await wake.wait()
            wake.clear()
            try:
                await self._shielded(work)
            except Exception:
                # Rows stay unsent: a poll publishes them once they are old enough.
                log.warning("event relay failed; retrying", exc_info=True)
                await asyncio.sleep(self.poll_interval_s)
            await asyncio.sleep(COALESCE_S)

    async def run(self) -> None:
        """Publish enqueued events as they come; beside that, mark them sent and poll the
        table every poll interval: a marking or a poll (database round trips) never holds
        up the next publish. Until cancelled."""

        async def publish() -> None:
            await self.publish_fresh()

        # Either loop's cancellation (run() cancelled) ends the other: gather cancels both.
        await asyncio.gather(
            self._loop(self._wake, lambda: None, publish),
            self._loop(self._wake_upkeep, self._until_due, self._upkeep_pass),
        )


def attach_outbox_relay(
    database: Database,
    publisher: EventPublisher,
    *,
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    retention_s: float = DEFAULT_RETENTION_S,
) -> OutboxRelay:
    """Turn the outbox on for `database` and return its relay (to be `run()`, then closed)."""
    relay = OutboxRelay(
        database, publisher, poll_interval_s=poll_interval_s, retention_s=retention_s
    )
    database.events.outbox = True
    database.events.on_outbox_written = relay.enqueue
    return relay
