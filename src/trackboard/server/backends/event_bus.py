"""Dispatching committed events: in-process subscribers, and the outbox of the distributed mode.

`Database.transaction` hands every committed transaction's events to `EventBus.dispatch`,
which runs the in-process subscribers in order, right after the commit and before the
request's response starts: read-cache invalidation (so the writer reads its own change on
any instance) and the live fan-out subscribe here. In the embedded mode this is the whole
story; other in-process consumers (the notifier of the embedded mode) subscribe the same way.

With an outbox (the distributed mode), the transaction also inserts each event into
`event_outbox` before it commits (`write_outbox`), and the dispatch hands the committed
events to the relay (`backends.event_relay`), which publishes them to RabbitMQ with
publisher confirms, from memory; the relay also polls the table, so events committed by a
process that died before publishing go out through the next relay that runs.

A subscriber's failure is logged and never raised: its change is committed already.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.events import Event
from trackboard.server.models import EventOutbox

log = logging.getLogger(__name__)

Subscriber = Callable[[Sequence[Event]], Awaitable[None]]


# The table, not the mapped class: an ORM insert goes through the ORM's bulk-insert path,
# which doubled the outbox's cost per write transaction (+1.0 ms of CPU against +0.5 ms for
# two rows on PostgreSQL, measured by timing the transaction with either and without).
OUTBOX = cast(Table, EventOutbox.__table__)


async def write_outbox(session: AsyncSession, events: Sequence[Event]) -> None:
    """Insert the events into `event_outbox`, in the caller's transaction."""
    now = time.time_ns() // 1_000_000
    await session.execute(
        insert(OUTBOX),
        [
            {
                "event_id": event.id,
                "type": event.type,
                "body": event.body.decode(),
                "created_at": now,
                "sent_at": None,
            }
            for event in events
        ],
    )


class EventBus:
    """The after-commit dispatcher of one process.

    `outbox` says whether write transactions also store their events in `event_outbox`;
    `on_outbox_written` (the relay's `enqueue`) gets the events of a commit that did."""

    def __init__(self, *, outbox: bool = False) -> None:
        self.outbox = outbox
        self.on_outbox_written: Callable[[Sequence[Event]], None] | None = None
        self._subscribers: list[tuple[str, Subscriber]] = []

    def subscribe(self, name: str, subscriber: Subscriber) -> None:
        """Call `subscriber` with each committed transaction's events, in subscription order."""
        self._subscribers.append((name, subscriber))

    async def dispatch(self, events: Sequence[Event]) -> None:
        if not events:
            return
        if self.outbox and self.on_outbox_written is not None:
            self.on_outbox_written(events)
        for name, subscriber in self._subscribers:
            try:
                await subscriber(events)
            except Exception:
                log.warning("event subscriber %s failed", name, exc_info=True)
