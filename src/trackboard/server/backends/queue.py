"""The metric-batch queue: one small interface, an in-process and a RabbitMQ implementation.

The in-process queue carries any object as it is (the embedded mode puts the messages
themselves on it: nothing to encode for a consumer in the same process); RabbitMQ carries
bytes. Both keep the same contract: `publish` returns only once the queue holds the message (for
RabbitMQ: after the publisher confirm of a persistent message on a durable quorum queue) and
raises `QueueFullError` past the length bound; `receive` hands out deliveries that stay owned by
the consumer until `ack` or `dead_letter`; unacked deliveries of a consumer that goes away
are delivered again (RabbitMQ) — so consumers must apply messages idempotently.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from trackboard.server.backends.cancellation import raise_unless_stopping
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard

log = logging.getLogger(__name__)

REASON_HEADER = "x-trackboard-reason"

T = TypeVar("T")


class QueueFullError(Exception):
    """The queue holds as many messages as it may; the publisher should retry later."""


class QueueUnavailableError(Exception):
    """The broker did not confirm the message (connection lost, nack); it may or may not
    be queued, so the publisher retries with the same idempotency key."""


@dataclass(eq=False)
class Delivery(Generic[T]):
    """One message handed to a consumer; `delivery_count` is 1 on the first delivery."""

    body: T
    delivery_count: int = 1
    handle: Any = field(default=None, repr=False)


class Queue(Protocol[T]):
    async def publish(self, body: T) -> None: ...

    async def receive(self, max_messages: int, timeout_s: float) -> list[Delivery[T]]:
        """Wait up to `timeout_s` for a message, then return all ready (≤ `max_messages`)."""
        ...

    async def ack(self, deliveries: Sequence[Delivery[T]]) -> None: ...

    async def dead_letter(self, delivery: Delivery[T], reason: str) -> None:
        """Move a message that can never be applied aside, with the reason in its headers."""
        ...

    async def depth(self) -> int:
        """Messages ready for delivery (not counting those a consumer holds)."""
        ...

    async def dead_letter_depth(self) -> int: ...

    def is_connected(self) -> bool:
        """Whether the queue's broker connection is up now (what `/readyz` reports)."""
        ...

    async def close(self) -> None: ...


@dataclass
class DeadLetter(Generic[T]):
    body: T
    reason: str


class LocalQueue(Generic[T]):
    """In-process queue of the embedded mode, also the queue of the tests: nothing survives
    the process, so its publisher answers only after the consumer committed (see ingest)."""

    def __init__(self, max_length: int = 10_000) -> None:
        self.max_length = max_length
        self._ready: deque[Delivery[T]] = deque()
        self._unacked: set[Delivery[T]] = set()
        self._arrived = asyncio.Event()
        self.dead_letters: list[DeadLetter[T]] = []

    async def publish(self, body: T) -> None:
        if len(self._ready) >= self.max_length:
            raise QueueFullError(f"the queue holds {len(self._ready)} messages")
        self._ready.append(Delivery(body))
        self._arrived.set()

    async def receive(self, max_messages: int, timeout_s: float) -> list[Delivery[T]]:
        if not self._ready:
            self._arrived.clear()
            # asyncio.timeout, not wait_for, which can swallow a cancellation on 3.11.
            try:
                async with asyncio.timeout(timeout_s):
                    await self._arrived.wait()
            except TimeoutError:
                return []
        taken = [self._ready.popleft() for _ in range(min(max_messages, len(self._ready)))]
        self._unacked.update(taken)
        return taken

    async def ack(self, deliveries: Sequence[Delivery[T]]) -> None:
        self._unacked.difference_update(deliveries)

    async def dead_letter(self, delivery: Delivery[T], reason: str) -> None:
        self.dead_letters.append(DeadLetter(delivery.body, reason))
        self._unacked.discard(delivery)

    def redeliver_unacked(self) -> None:
        """What RabbitMQ does when a consumer dies: its unacked messages go back in front."""
        for delivery in sorted(self._unacked, key=id):
            self._ready.appendleft(
                Delivery(delivery.body, delivery.delivery_count + 1, delivery.handle)
            )
        self._unacked.clear()
        if self._ready:
            self._arrived.set()

    async def depth(self) -> int:
        return len(self._ready)

    async def dead_letter_depth(self) -> int:
        return len(self.dead_letters)

    def is_connected(self) -> bool:
        return True  # in-process: nothing to lose

    async def close(self) -> None:
        return None


def queue_arguments(dead_letter_queue: str, max_length: int, delivery_limit: int) -> dict[str, Any]:
    """A quorum queue that refuses publishes when full (so the API can answer 503) and
    dead-letters, at least once, messages delivered `delivery_limit` times (crash loops)."""
    return {
        "x-queue-type": "quorum",
        "x-max-length": max_length,
        "x-overflow": "reject-publish",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue,
        "x-dead-letter-strategy": "at-least-once",
    }


class RabbitQueue:
    """A durable quorum queue on RabbitMQ with publisher confirms and manual acks.

    The connection is `connect_robust`: after a broker restart it reconnects, declares the
    queues again and resumes consuming; publishes during the gap raise `QueueUnavailableError`.
    """

    def __init__(
        self,
        connection: Any,
        publish_channel: Any,
        name: str,
        prefetch: int,
        timeout_s: float,
        breaker: BreakerSettings = BreakerSettings(),
    ) -> None:
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        self._connection = connection
        self._publish_channel = publish_channel
        self.name = name
        self.dead_letter_name = f"{name}.dead"
        self._prefetch = prefetch
        self._timeout_s = timeout_s
        self._consume_channel: Any = None
        self._buffer: asyncio.Queue[Any] = asyncio.Queue()
        # Publishes only: a consumer waits for messages by design, and reconnects itself.
        # While the broker is away, publishes are refused at once instead of each waiting
        # out `timeout_s`; the probe is a round trip to the broker (the queue's depth), since
        # a stalled connection still looks connected.
        self.guard = DependencyGuard(
            breaker.breaker("rabbitmq"),
            deadline_s=timeout_s,
            unavailable=QueueUnavailableError,
            is_failure=lambda error: isinstance(error, CONNECTION_EXCEPTIONS),
            probe=self.depth,
        )

    @classmethod
    async def connect(
        cls,
        url: str,
        name: str = "trackboard.metrics",
        *,
        max_length: int = 10_000,
        prefetch: int = 200,
        delivery_limit: int = 20,
        timeout_s: float = 10.0,
        breaker: BreakerSettings = BreakerSettings(),
        single_active_consumer: bool = False,
    ) -> "RabbitQueue":
        """`single_active_consumer`: RabbitMQ hands messages to one consumer at a time (the
        others wait as stand-ins), so they are applied in the order they were queued."""
        import aio_pika
        from aio_pika.exceptions import ChannelPreconditionFailed

        connection = await aio_pika.connect_robust(url, reconnect_interval=1.0, timeout=timeout_s)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            dead_letter_name = f"{name}.dead"
            await channel.declare_queue(
                dead_letter_name, durable=True, arguments={"x-queue-type": "quorum"}
            )
            arguments = queue_arguments(dead_letter_name, max_length, delivery_limit)
            if single_active_consumer:
                arguments["x-single-active-consumer"] = True
            try:
                await channel.declare_queue(name, durable=True, arguments=arguments)
            except ChannelPreconditionFailed as error:
                # Declared before with other arguments (another instance's settings, an
                # older version): use it as it is rather than refuse to start.
                log.warning("queue %s exists with other arguments, using it: %s", name, error)
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                await channel.declare_queue(name, passive=True)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, channel, name, prefetch, timeout_s, breaker)

    async def _publish(self, body: bytes, routing_key: str, headers: dict[str, Any]) -> None:
        import aio_pika
        from aio_pika.exceptions import DeliveryError, PublishError

        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=headers,
            timestamp=time.time(),
        )

        async def send() -> None:
            # The channel's own publish, not `Exchange.publish`: that one holds the channel's
            # lock until the frames are written to the socket, so concurrent publishes go
            # out one loop turn apart. Without waiting for the write they queue their frames
            # at once and await their confirms together; a 2xx still waits for the broker's
            # confirm of the persistent message.
            channel = await self._publish_channel.get_underlay_channel()
            await channel.basic_publish(
                message.body,
                exchange="",
                routing_key=routing_key,
                properties=message.properties,
                mandatory=True,
                wait=False,
            )

        try:
            await self.guard.call(send)  # within `timeout_s`, else QueueUnavailableError
        except QueueUnavailableError:
            raise  # the guard's: circuit open, or no answer within the deadline
        except asyncio.CancelledError as error:
            closed = QueueUnavailableError("the channel closed before the broker confirmed")
            raise_unless_stopping(error, closed)
        except DeliveryError as error:
            # reject-publish: the broker nacks what a full queue cannot take.
            raise QueueFullError(f"the broker refused the message: {error}") from error
        except PublishError as error:
            raise QueueUnavailableError(f"the message could not be routed: {error}") from error
        except Exception as error:
            # CONNECTION_EXCEPTIONS, and the bare `Exception` a channel closed under the
            # publish can hand back: the message was not confirmed, the caller may retry.
            raise QueueUnavailableError(
                f"the broker did not confirm the message: {error!r}"
            ) from error

    async def publish(self, body: bytes) -> None:
        await self._publish(body, self.name, {})

    async def _start_consuming(self) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.declare_queue(self.name, passive=True)
        await queue.consume(self._buffer.put, no_ack=False)
        self._consume_channel = channel

    async def receive(self, max_messages: int, timeout_s: float) -> list[Delivery[bytes]]:
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        if self._consume_channel is None:
            try:
                await self._start_consuming()
            except asyncio.CancelledError as error:
                closed = QueueUnavailableError("the channel closed while starting to consume")
                raise_unless_stopping(error, closed)
            except (TimeoutError, *CONNECTION_EXCEPTIONS) as error:
                raise QueueUnavailableError(f"cannot consume: {error!r}") from error
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as a message does, and the consumer loop then outlives its shutdown.
        try:
            async with asyncio.timeout(timeout_s):
                first = await self._buffer.get()
        except TimeoutError:
            return []
        messages = [first]
        while len(messages) < max_messages and not self._buffer.empty():
            messages.append(self._buffer.get_nowait())
        return [
            Delivery(
                message.body,
                int((message.headers or {}).get("x-delivery-count", 0) or 0) + 1,
                message,
            )
            for message in messages
        ]

    async def ack(self, deliveries: Sequence[Delivery[bytes]]) -> None:
        from aio_pika.exceptions import CONNECTION_EXCEPTIONS

        for delivery in deliveries:
            try:
                await delivery.handle.ack()
            except CONNECTION_EXCEPTIONS as error:
                # The channel went away after the commit: the broker delivers the message
                # again and the consumer finds it already applied.
                log.warning("ack lost, the message will be redelivered: %r", error)

    async def dead_letter(self, delivery: Delivery[bytes], reason: str) -> None:
        headers = dict(delivery.handle.headers or {})
        headers[REASON_HEADER] = reason[:1000]
        await self._publish(delivery.body, self.dead_letter_name, headers)
        await self.ack([delivery])

    async def _message_count(self, name: str) -> int:
        # On a channel of its own, opened for this read and closed after it: aiormq closes
        # a channel whose RPC times out or is cancelled, and on the publish channel that
        # stopped publishes until aio_pika restored it, which under load could take the
        # rest of the process's life (every metric batch answered 503).
        try:
            async with asyncio.timeout(self._timeout_s):
                transport = self._connection.transport
                if transport is None:
                    raise ConnectionError("not connected to the broker")
                channel = await transport.connection.channel()
                try:
                    declared = await channel.queue_declare(name, passive=True)
                finally:
                    if not channel.is_closed:
                        await channel.close()
        except asyncio.CancelledError as error:
            closed = QueueUnavailableError("the channel closed during the depth read")
            raise_unless_stopping(error, closed)
        except Exception as error:
            # Not only CONNECTION_EXCEPTIONS: a channel closed under the read can also hand
            # back its close reason, a bare `Exception`.
            raise QueueUnavailableError(f"cannot read the queue depth: {error!r}") from error
        return int(declared.message_count or 0)

    async def depth(self) -> int:
        return await self._message_count(self.name)

    async def dead_letter_depth(self) -> int:
        return await self._message_count(self.dead_letter_name)

    def is_connected(self) -> bool:
        return not self._connection.is_closed

    async def close(self) -> None:
        self.guard.close()
        await self._connection.close()
