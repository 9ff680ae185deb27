"""Real-time fan-out of small messages by topic: in-process, or across instances via RabbitMQ.

Delivery is best effort and at most once: a subscriber hears what is published while it is
subscribed, and a subscriber that falls behind loses its oldest messages (live views
re-read the API after a gap, so nothing is lost for good). A subscription is ready once
`async with broadcast.subscribe(topic)` has been entered; iterating one that was not
entered subscribes on the first `__anext__`.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Protocol, Self

from trackboard.server.backends.cancellation import is_stopping
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard

log = logging.getLogger(__name__)

# How long a live publish may take before it is dropped (see `RabbitBroadcast`).
PUBLISH_TIMEOUT_S = 1.0


class BroadcastUnavailableError(ConnectionError):
    """The broker did not take a live message in time, or its breaker is open."""


DEFAULT_MAX_PENDING = 1_000


class Subscription(Protocol):
    """Messages of one topic, as an async iterator that is also an async context manager."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def aclose(self) -> None: ...


class Broadcast(Protocol):
    async def publish(self, topic: str, message: bytes) -> None: ...

    def subscribe(self, topic: str) -> Subscription: ...

    async def close(self) -> None: ...


class _Closed:
    """Marks the end of a subscription's stream."""


_CLOSED = _Closed()


class LocalSubscription:
    """One subscriber's bounded buffer; the oldest message goes when it is full."""

    def __init__(self, hub: "LocalBroadcast", topic: str, max_pending: int) -> None:
        self._hub = hub
        self.topic = topic
        self._pending: deque[bytes | _Closed] = deque()
        self._max_pending = max_pending
        self._arrived = asyncio.Event()
        self._registered = False
        self._closed = False
        self.dropped = 0

    def offer(self, message: bytes | _Closed) -> None:
        if self._closed:
            return
        if len(self._pending) >= self._max_pending and isinstance(message, bytes):
            self._pending.popleft()
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.warning(
                    "live subscriber of %s is slow: %d messages dropped", self.topic, self.dropped
                )
        self._pending.append(message)
        self._arrived.set()

    def _register(self) -> None:
        if not self._registered and not self._closed:
            self._registered = True
            self._hub._add(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        self._register()
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()
        item = self._pending.popleft()
        if isinstance(item, _Closed):
            self._closed = True
            self._pending.clear()
            raise StopAsyncIteration
        return item

    async def __aenter__(self) -> Self:
        self._register()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._registered:
            self._hub._remove(self)
        self._closed = True
        self._pending.clear()
        self._arrived.set()


class LocalBroadcast:
    """In-process fan-out: the embedded mode's broadcast and the tests' one."""

    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._topics: dict[str, set[LocalSubscription]] = {}

    async def publish(self, topic: str, message: bytes) -> None:
        self.deliver(topic, message)

    def deliver(self, topic: str, message: bytes) -> None:
        for subscription in tuple(self._topics.get(topic, ())):
            subscription.offer(message)

    def subscribe(self, topic: str) -> LocalSubscription:
        return LocalSubscription(self, topic, self._max_pending)

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def _add(self, subscription: LocalSubscription) -> None:
        self._topics.setdefault(subscription.topic, set()).add(subscription)

    def _remove(self, subscription: LocalSubscription) -> None:
        subscribers = self._topics.get(subscription.topic)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._topics[subscription.topic]

    async def close(self) -> None:
        for subscribers in list(self._topics.values()):
            for subscription in tuple(subscribers):
                subscription.offer(_CLOSED)
        self._topics.clear()


class RabbitSubscription(LocalSubscription):
    """A local subscription whose first entry also binds the topic on the broker."""

    def __init__(self, owner: "RabbitBroadcast", topic: str, max_pending: int) -> None:
        super().__init__(owner._local, topic, max_pending)
        self._owner = owner
        self._bound = False

    async def _bind(self) -> None:
        if not self._bound:
            self._bound = True
            await self._owner._retain(self.topic)

    async def __anext__(self) -> bytes:
        await self._bind()
        return await super().__anext__()

    async def __aenter__(self) -> Self:
        await self._bind()
        return await super().__aenter__()

    async def aclose(self) -> None:
        await super().aclose()
        if self._bound:
            self._bound = False
            await self._owner._release(self.topic)


class RabbitBroadcast:
    """Fan-out across instances through one RabbitMQ topic exchange.

    Each instance has one exclusive, auto-deleted queue, bound to exactly the topics its
    own subscribers want, and fans messages out locally. Messages are transient and the
    queue is bounded (oldest dropped), so a slow instance never backs up the broker.
    After a broker restart `connect_robust` re-declares the queue and its bindings.
    """

    def __init__(
        self,
        connection: Any,
        channel: Any,
        exchange: Any,
        queue: Any,
        max_pending: int = DEFAULT_MAX_PENDING,
        breaker: BreakerSettings = BreakerSettings(),
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        # Live messages are disposable (browsers also poll): a publish the broker does not
        # take within the deadline, or any while the breaker is open, is dropped, so a
        # stalled broker never holds the write whose commit it announces.
        self.guard = DependencyGuard(
            breaker.breaker("rabbitmq:live"),
            deadline_s=publish_timeout_s,
            unavailable=BroadcastUnavailableError,
            is_failure=lambda error: isinstance(error, CONNECTION_EXCEPTIONS),
        )
        self.dropped = 0
        self._connection = connection
        self._channel = channel
        self._exchange = exchange
        self._queue = queue
        self._local = LocalBroadcast(max_pending)
        self._max_pending = max_pending
        self._bindings: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._consumer_tag: str | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        exchange_name: str = "trackboard.live",
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        queue_max_length: int = 10_000,
        timeout_s: float = 10.0,
        breaker: BreakerSettings = BreakerSettings(),
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> "RabbitBroadcast":
        import aio_pika

        connection = await aio_pika.connect_robust(url, reconnect_interval=1.0, timeout=timeout_s)
        try:
            # Live events are disposable: no publisher confirms, no persistence.
            channel = await connection.channel(publisher_confirms=False)
            exchange = await channel.declare_exchange(
                exchange_name, aio_pika.ExchangeType.TOPIC, durable=False
            )
            queue = await channel.declare_queue(
                "",
                exclusive=True,
                auto_delete=True,
                arguments={"x-max-length": queue_max_length, "x-overflow": "drop-head"},
            )
            broadcast = cls(
                connection, channel, exchange, queue, max_pending, breaker, publish_timeout_s
            )
            broadcast._consumer_tag = await queue.consume(broadcast._on_message, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        return broadcast

    async def _on_message(self, message: Any) -> None:
        self._local.deliver(str(message.routing_key), bytes(message.body))

    async def publish(self, topic: str, message: bytes) -> None:
        import aio_pika
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        async def send() -> None:
            # Not mandatory: a topic nobody watches is dropped by the broker quietly, instead
            # of coming back as a Basic.Return that the AMQP client logs with its whole body.
            await self._exchange.publish(
                aio_pika.Message(message, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT),
                routing_key=topic,
                mandatory=False,
            )

        try:
            await self.guard.call(send)
        except (BroadcastUnavailableError, asyncio.CancelledError, *CONNECTION_EXCEPTIONS) as error:
            # A CancelledError not of this task's own stop: a channel closed under the
            # publish (see `backends.cancellation`).
            if isinstance(error, asyncio.CancelledError) and is_stopping():
                raise
            self.dropped += 1
            log.debug("live message on %s dropped: %r", topic, error)

    def subscribe(self, topic: str) -> RabbitSubscription:
        return RabbitSubscription(self, topic, self._max_pending)

    async def _retain(self, topic: str) -> None:
        async with self._lock:
            count = self._bindings.get(topic, 0)
            if count == 0:
                await self._queue.bind(self._exchange, routing_key=topic)
            self._bindings[topic] = count + 1

    async def _release(self, topic: str) -> None:
        async with self._lock:
            count = self._bindings.get(topic, 0) - 1
            if count > 0:
                self._bindings[topic] = count
                return
            self._bindings.pop(topic, None)
            if not self._connection.is_closed:
                try:
                    await self._queue.unbind(self._exchange, routing_key=topic)
                except Exception:  # the binding dies with the queue anyway
                    log.debug("unbinding %s failed", topic, exc_info=True)

    async def close(self) -> None:
        self.guard.close()
        await self._local.close()
        await self._connection.close()


async def open_broadcast(
    amqp_url: str | None,
    exchange_name: str = "trackboard.live",
    breaker: BreakerSettings = BreakerSettings(),
) -> Broadcast:
    """RabbitMQ fan-out across instances when a broker is configured, else in-process."""
    if amqp_url is None:
        return LocalBroadcast()
    return await RabbitBroadcast.connect(amqp_url, exchange_name, breaker=breaker)
