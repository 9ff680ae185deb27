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
from typing import Any, cast

from sqlalchemy import Dialect, Table, insert
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.events import Event
from trackboard.server.models import EventOutbox

log = logging.getLogger(__name__)

Subscriber = Callable[[Sequence[Event]], Awaitable[None]]


# The table, not the mapped class: an ORM insert goes through the ORM's bulk-insert path,
# which doubled the outbox's cost per write transaction (+1.0 ms of CPU against +0.5 ms for
# two rows on PostgreSQL, measured by timing the transaction with either and without).
OUTBOX = cast(Table, EventOutbox.__table__)

# The same insert as asyncpg takes it, for `_insert_on_asyncpg`.
OUTBOX_INSERT_SQL = (
    "INSERT INTO event_outbox (event_id, type, body, created_at) VALUES ($1, $2, $3, $4)"
)

OutboxRow = tuple[str, str, str, int]


async def write_outbox(session: AsyncSession, events: Sequence[Event]) -> None:
    """Insert the events into `event_outbox`, in the caller's transaction."""
    now = time.time_ns() // 1_000_000
    rows = [(event.id, event.type, event.body.decode(), now) for event in events]
    if session.get_bind().dialect.driver == "asyncpg" and await _insert_on_asyncpg(session, rows):
        return
    keys = ("event_id", "type", "body", "created_at")
    await session.execute(insert(OUTBOX), [dict(zip(keys, row, strict=True)) for row in rows])


async def _insert_on_asyncpg(session: AsyncSession, rows: Sequence[OutboxRow]) -> bool:
    """Insert the rows on the session's asyncpg connection, in its transaction; False (and
    nothing done) if the transaction has not begun on the connection yet.

    Every write transaction of the distributed mode pays this insert: SQLAlchemy's
    execution of it (statement cache, parameter processing, result) cost about 70 µs of
    CPU a transaction more than the driver's own prepared statement (310 against 240 µs,
    measured in-process in alternating blocks); the round trip is the rest."""
    connection = await session.connection()
    # The pooled connection of a connection in use: no I/O, so no greenlet to run it in.
    in_use = connection.sync_connection
    assert in_use is not None
    adapted = in_use.connection.dbapi_connection
    assert adapted is not None
    driver = adapted.driver_connection
    if not driver.is_in_transaction():
        return False  # SQLAlchemy begins it lazily, with its first statement
    try:
        if len(rows) == 1:
            await driver.execute(OUTBOX_INSERT_SQL, *rows[0])
        else:
            await driver.executemany(OUTBOX_INSERT_SQL, rows)
    except Exception as error:
        raise _as_sqlalchemy_error(connection.dialect, adapted, error, rows) from error
    return True


def _as_sqlalchemy_error(
    dialect: Dialect, adapted: Any, error: Exception, rows: Sequence[OutboxRow]
) -> StatementError:
    """`error` of the driver as SQLAlchemy raises it for a statement (what `is_outage` and
    the API's error mapping look at): translated by SQLAlchemy's adapter, then wrapped."""
    try:
        adapted._handle_exception(error)  # always raises the adapter's DBAPI error
    except Exception as translated:
        return DBAPIError.instance(
            OUTBOX_INSERT_SQL,
            list(rows),
            translated,
            dialect.loaded_dbapi.Error,
            connection_invalidated=dialect.is_disconnect(cast(Any, translated), adapted, None),
        )
    raise AssertionError("unreachable")


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
