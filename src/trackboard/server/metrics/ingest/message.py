"""Queue messages of metric batches, and their bytes on RabbitMQ: a small JSON header, then
the raw point columns. The in-process queue carries the messages themselves.

Layout: b"TBM1", 4-byte little-endian header length, the orjson header, then per key in
header order its steps (<i8), timestamps (<i8) and values (<f8). Decoding is
`np.frombuffer`: the worker spends no time parsing points, only checking sizes.
"""

import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from trackboard.server.backends.queue import Delivery, Queue
from trackboard.server.errors import InvalidParameter
from trackboard.server.limits import check_key
from trackboard.server.metrics.points import Points, Series
from trackboard.server.observability.prometheus import Instruments

log = logging.getLogger(__name__)

MAGIC = b"TBM1"
_LENGTH = struct.Struct("<I")
_PREFIX = len(MAGIC) + _LENGTH.size


class PoisonMessageError(Exception):
    """A message that can never be applied: it goes to the dead-letter queue."""


@dataclass(frozen=True)
class IngestMessage:
    """One accepted batch for one run, as it travels from the API to the writer."""

    run_id: str
    experiment_id: int
    batch_id: str | None
    series: Series
    accepted_at_ns: int
    # Embedded mode: which waiting request the writer answers after the commit.
    token: int | None = None

    @property
    def point_count(self) -> int:
        return sum(len(points) for points in self.series.values())


def encode_message(message: IngestMessage) -> bytes:
    header = orjson.dumps(
        {
            "run_id": message.run_id,
            "experiment_id": message.experiment_id,
            "batch_id": message.batch_id,
            "accepted_at_ns": message.accepted_at_ns,
            "token": message.token,
            "keys": [[key, len(points)] for key, points in message.series.items()],
        }
    )
    parts = [MAGIC, _LENGTH.pack(len(header)), header]
    for points in message.series.values():
        parts.append(points.steps.astype("<i8", copy=False).tobytes())
        parts.append(points.timestamps.astype("<i8", copy=False).tobytes())
        parts.append(points.values.astype("<f8", copy=False).tobytes())
    return b"".join(parts)


def _field(header: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = header.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PoisonMessageError(f"message header field {name!r} is missing or not {kind}")
    return value


def decode_message(body: bytes) -> IngestMessage:
    """The message, or `PoisonMessageError` for anything the API could not have produced."""
    if len(body) < _PREFIX or body[: len(MAGIC)] != MAGIC:
        raise PoisonMessageError("not a Trackboard metric message")
    (header_length,) = _LENGTH.unpack_from(body, len(MAGIC))
    try:
        header = orjson.loads(body[_PREFIX : _PREFIX + header_length])
    except orjson.JSONDecodeError as error:
        raise PoisonMessageError(f"unreadable message header: {error}") from None
    if not isinstance(header, dict):
        raise PoisonMessageError("message header is not an object")
    run_id = _field(header, "run_id", str)
    experiment_id = _field(header, "experiment_id", int)
    accepted_at_ns = _field(header, "accepted_at_ns", int)
    batch_id = header.get("batch_id")
    token = header.get("token")
    if batch_id is not None and not (isinstance(batch_id, str) and 0 < len(batch_id) <= 64):
        raise PoisonMessageError("message batch_id must be a string of 1 to 64 characters")
    if token is not None and not isinstance(token, int):
        raise PoisonMessageError("message token must be an integer")
    keys = _field(header, "keys", list)
    series: dict[str, Points] = {}
    offset = _PREFIX + header_length
    for entry in keys:
        if not (
            isinstance(entry, list)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], int)
            and entry[1] >= 0
        ):
            raise PoisonMessageError("message keys must be [key, count] pairs")
        key, count = entry
        try:
            check_key("metric", key)
        except InvalidParameter as error:
            raise PoisonMessageError(error.message) from None
        if key in series:
            raise PoisonMessageError(f"message repeats key {key!r}")
        size = 8 * count
        if offset + 3 * size > len(body):
            raise PoisonMessageError("message is shorter than its header says")
        steps = np.frombuffer(body, dtype="<i8", count=count, offset=offset)
        timestamps = np.frombuffer(body, dtype="<i8", count=count, offset=offset + size)
        values = np.frombuffer(body, dtype="<f8", count=count, offset=offset + 2 * size)
        series[key] = Points(
            steps.astype(np.int64, copy=False),
            timestamps.astype(np.int64, copy=False),
            values.astype(np.float64, copy=False),
        )
        offset += 3 * size
    if offset != len(body):
        raise PoisonMessageError("message is longer than its header says")
    return IngestMessage(run_id, experiment_id, batch_id, series, accepted_at_ns, token)


class EncodedQueue:
    """A byte queue (RabbitMQ) as a queue of messages: encoded on publish, decoded on
    receive. A body that does not decode is dead-lettered here, with the reason."""

    def __init__(self, queue: Queue[bytes], instruments: Instruments) -> None:
        self.queue = queue
        self.instruments = instruments

    async def publish(self, body: IngestMessage) -> None:
        await self.queue.publish(encode_message(body))

    async def receive(self, max_messages: int, timeout_s: float) -> list[Delivery[IngestMessage]]:
        received = []
        for raw in await self.queue.receive(max_messages, timeout_s):
            try:
                message = decode_message(raw.body)
            except PoisonMessageError as error:
                log.error("dead-lettering a metric message: %s", error)
                await self.queue.dead_letter(raw, str(error))
                self.instruments.ingest_dead_letters.inc()
                continue
            received.append(Delivery(message, raw.delivery_count, raw))
        return received

    async def ack(self, deliveries: Sequence[Delivery[IngestMessage]]) -> None:
        await self.queue.ack([delivery.handle for delivery in deliveries])

    async def dead_letter(self, delivery: Delivery[IngestMessage], reason: str) -> None:
        await self.queue.dead_letter(delivery.handle, reason)

    async def depth(self) -> int:
        return await self.queue.depth()

    async def dead_letter_depth(self) -> int:
        return await self.queue.dead_letter_depth()

    def is_connected(self) -> bool:
        return self.queue.is_connected()

    async def close(self) -> None:
        await self.queue.close()


# What the ingest path publishes to and consumes from, in either mode.
MessageQueue = Queue[IngestMessage]
