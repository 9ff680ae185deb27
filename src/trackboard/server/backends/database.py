"""The SQLAlchemy engine and session factory for SQLite (embedded) or PostgreSQL."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, any_, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from sqlalchemy.util.concurrency import await_

from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard
from trackboard.server.backends.event_bus import EventBus, write_outbox
from trackboard.server.backends.replicas import Replica, ReplicaSet, parse_lsn
from trackboard.server.errors import OUTAGE_MESSAGE, OVERLOAD_MESSAGE
from trackboard.server.events import recorded, take_recorded

T = TypeVar("T")


def is_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (refused, reset, timed out,
    a connection lost mid-query), as opposed to a query it refused."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError)


def is_outage(error: BaseException) -> bool:
    """`is_unreachable`, counting only connection errors and timeouts among OS errors (a
    missing file is an OSError too): what the API answers with 503 and `Retry-After`
    instead of a 500."""
    if isinstance(error, OSError) and not isinstance(error, ConnectionError | TimeoutError):
        return False
    return is_unreachable(error)


def is_overloaded(error: BaseException) -> bool:
    """Every pooled connection stayed busy for the pool's timeout: the database is there but
    this process has more work than connections. Answered like an outage (503 with
    `Retry-After`), but not counted by the breaker, which would then refuse every request
    for its pause."""
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    return isinstance(error, PoolTimeoutError)


def is_unavailable(error: BaseException) -> bool:
    """What the API answers with 503 and `Retry-After` instead of a 500: an outage or an
    overload."""
    return is_outage(error) or is_overloaded(error)


def unavailable_message(error: BaseException) -> str:
    """The message of that 503: an overload is not reported as an outage, which would send
    an operator looking for a database that is there."""
    return OVERLOAD_MESSAGE if is_overloaded(error) else OUTAGE_MESSAGE


class DatabaseUnavailableError(ConnectionError):
    """The primary database's breaker is open, or no connection came within the deadline:
    an outage (`is_outage`), answered 503 with `Retry-After` without waiting on a socket."""


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def one_of(
    session: AsyncSession, column: ColumnElement[T], values: Sequence[T]
) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY($1)` with one array parameter.

    An IN list binds a placeholder per value, which SQLAlchemy renders on every execution,
    and each list length is another prepared statement; a page of 1,000 runs paid more for
    that than for its query."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable in WAL mode
    # against process crashes. MLflow's LIKE is case-sensitive, SQLite's is not by default.
    # The driver's own BEGIN is turned off so that `_begin_sqlite` can choose the lock mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


async def on_sqlite_driver(call: Awaitable[T], sql: str) -> T:
    """A call of the SQLite driver (aiosqlite) made directly, its errors raised as
    SQLAlchemy raises them (`IntegrityError`, `OperationalError`…), which is what callers
    tell apart. Each call is one round trip to aiosqlite's thread, where SQLAlchemy's
    adapter makes 3-4 a statement (cursor, execute, fetch, close); on a busy machine each
    waits for the OS to schedule the other thread. For hot statements only."""
    try:
        return await call
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error


async def sqlite_driver(session: AsyncSession) -> Any:
    """The session's aiosqlite connection, in the session's transaction (begun here if
    it was not yet)."""
    connection = await session.connection()
    return (await connection.get_raw_connection()).driver_connection


def _begin_sqlite(connection: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads and then
    # writes can fail at once with "database is locked" instead of waiting its turn.
    # On the driver: one round trip to its thread instead of three (`on_sqlite_driver`).
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    sql = f"BEGIN {mode}"
    await_(on_sqlite_driver(connection.connection.driver_connection.execute_fetchall(sql), sql))


def create_engine(
    url: str,
    pool_size: int = 10,
    random_page_cost: float | None = None,
    connect_timeout_s: float | None = None,
    pool_timeout_s: float = 30.0,
) -> AsyncEngine:
    """An engine for the URL. On PostgreSQL, `random_page_cost` (when given) is set for
    every connection: see `Settings.database_random_page_cost`; `connect_timeout_s` bounds
    opening a connection (asyncpg's own default is 60 s); `pool_timeout_s` bounds the wait
    for a pooled connection when all are busy (then `is_overloaded`)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    server_settings = {}
    if random_page_cost is not None:
        server_settings["random_page_cost"] = str(random_page_cost)
    connect_args: dict[str, Any] = {"server_settings": server_settings}
    if connect_timeout_s is not None:
        connect_args["timeout"] = connect_timeout_s
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


# Set in `session.info` when a guarded session's transaction takes a connection: only then
# does its outcome say anything of the database's health.
_CONNECTED = "connected"


def _note_connected(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_CONNECTED] = True


# Where a write transaction's commit ended in the primary's WAL, left in `session.info`
# when replicas are configured: a later read by the same client waits for a replica that
# has replayed that far, or goes to the primary.
COMMIT_POSITION = "commit_position"


@dataclass
class Database:
    """One engine and its session factory; requests each own one transaction. With
    replicas, reads go to one that can serve them (see `backends.replicas`). The events a
    write transaction recorded (`events.record`) go to `events` once it committed."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]
    replicas: ReplicaSet | None = None
    events: EventBus = field(default_factory=EventBus)
    # The primary's breaker and connection deadline (the API servers'; see `guard_primary`).
    guard: DependencyGuard | None = None
    # Sessions that refuse every query, handed out while the guard refuses (see `_unit`).
    refused_sessions: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def connect(
        cls,
        url: str,
        pool_size: int = 10,
        random_page_cost: float | None = None,
        replica_urls: Sequence[str] = (),
        replica_max_lag_s: float = 5.0,
        pool_timeout_s: float = 30.0,
    ) -> "Database":
        engine = create_engine(url, pool_size, random_page_cost, pool_timeout_s=pool_timeout_s)
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        replicas = None
        if replica_urls:
            members = []
            for index, replica_url in enumerate(replica_urls):
                replica_engine = create_engine(
                    replica_url, pool_size, random_page_cost, pool_timeout_s=pool_timeout_s
                )
                sessions = async_sessionmaker(replica_engine, expire_on_commit=False)
                members.append(Replica(f"replica-{index}", replica_engine, sessions))
            replicas = ReplicaSet(engine, members, max_lag_s=replica_max_lag_s)
        return cls(
            engine,
            async_sessionmaker(engine, expire_on_commit=False),
            async_sessionmaker(writer, expire_on_commit=False),
            replicas,
        )

    def guard_primary(self, breaker: BreakerSettings, deadline_s: float) -> None:
        """Put the primary behind a breaker: while it is open, queries fail at once with
        `DatabaseUnavailableError`, and a `SELECT 1` in the background probes for its return.
        Opening a connection and the liveness ping of a pooled one each get `deadline_s`
        (asyncpg's own connect timeout is 60 s, and the ping has none): past it, the query
        that needed the connection fails as an outage and counts towards the breaker. (Not
        on SQLite: a local file does not go away the way a server does.)"""
        if self.is_sqlite:
            return
        dialect = self.engine.sync_engine.dialect

        @event.listens_for(self.engine.sync_engine, "do_connect")
        def bounded_connect(_d: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
            params["timeout"] = deadline_s

        def bounded_ping(dbapi_connection: Any) -> bool:
            # The asyncpg adapter's own ping, within the deadline (SQLAlchemy's has none).
            try:
                await_(asyncio.wait_for(dbapi_connection._async_ping(), deadline_s))
            except TimeoutError as error:
                raise DatabaseUnavailableError(
                    f"database: no answer to the liveness ping within {deadline_s:g} s"
                ) from error
            except Exception as error:
                dbapi_connection._handle_exception(error)  # as the adapter's ping does
            return True

        dialect.do_ping = bounded_ping  # type: ignore[method-assign]
        # This database's sessions say when they took a connection (see `_unit`).
        guarded_session: type[Session] = type("GuardedSession", (Session,), {})
        event.listen(guarded_session, "after_begin", _note_connected)
        self.read_sessions.configure(sync_session_class=guarded_session)
        self.write_sessions.configure(sync_session_class=guarded_session)

        async def select_one() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def refuse() -> Any:
            raise DatabaseUnavailableError("database: unreachable (circuit breaker open)")

        # The stand-in sessions of `_unit`: same dialect, a "connection" that refuses.
        refusing = create_async_engine(self.engine.url, async_creator=refuse, poolclass=NullPool)
        self.refused_sessions = async_sessionmaker(refusing, expire_on_commit=False)
        self.guard = DependencyGuard(
            breaker.breaker("database"),
            deadline_s=deadline_s,
            unavailable=DatabaseUnavailableError,
            is_failure=is_outage,
            probe=select_one,
        )

    @asynccontextmanager
    async def _unit(self, session: AsyncSession) -> AsyncIterator[AsyncSession]:
        """`session`'s transaction on the primary, committed when the block ends normally.

        Behind the guard: while the breaker refuses, the block gets a stand-in session whose
        first query raises `DatabaseUnavailableError` at once (no connection is waited
        for), so that a read the cache can answer (`backends.cache_aside`) still runs and
        uses it. Otherwise the connection is taken at the first query, as without a guard
        (a read answered from the cache takes none), and the outcome counts: an outage
        error is a failure, a block that used the database and ended is a success."""
        guard = self.guard
        if guard is None:
            async with session.begin():
                yield session
            return
        try:
            guard.admit()
        except DatabaseUnavailableError:
            assert self.refused_sessions is not None
            async with self.refused_sessions() as stand_in, stand_in.begin():
                yield stand_in
            return
        try:
            async with session.begin():
                yield session
        except BaseException as error:
            if is_outage(error):
                guard.record(error)
            raise
        if session.info.pop(_CONNECTED, False):
            guard.record(None)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(
        self, *, write: bool = True, replica: bool = False, read_after: int | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back otherwise.

        A write transaction's recorded events are dispatched after its commit (and with
        the outbox on, inserted into `event_outbox` just before it); a rollback drops them.

        With `replica`, a read may go to a replica that has replayed up to `read_after` (a
        position from an earlier write's `session.info[COMMIT_POSITION]`). Without it reads
        stay on the primary: checks made for a write (does the run exist?) must not see a
        replica's past."""
        if write:
            async with self.write_sessions() as opened:
                session = opened
                try:
                    async with self._unit(opened) as session:
                        yield session
                        if self.events.outbox and recorded(session):
                            await write_outbox(session, recorded(session))
                except BaseException:
                    take_recorded(session)
                    raise
                committed = take_recorded(session)
                if self.replicas is not None:
                    position = await session.scalar(text("SELECT pg_current_wal_lsn()::text"))
                    session.info[COMMIT_POSITION] = parse_lsn(str(position))
            await self.events.dispatch(committed)
            return
        factory = self.read_sessions
        chosen = None
        if replica and self.replicas is not None:
            chosen = self.replicas.choose(read_after)
        if chosen is not None:
            try:
                async with chosen.sessions() as session:
                    await session.connection()  # a dead replica fails here, before the work
            except Exception as error:
                assert self.replicas is not None
                self.replicas.mark_down(chosen, error)
            else:
                factory = chosen.sessions
        if factory is not self.read_sessions:
            async with factory() as session, session.begin():
                yield session
            return
        async with factory() as opened, self._unit(opened) as session:
            yield session

    async def dispose(self) -> None:
        if self.guard is not None:
            self.guard.close()
        if self.refused_sessions is not None:
            await self.refused_sessions.kw["bind"].dispose()
        if self.replicas is not None:
            await self.replicas.dispose()
        await self.engine.dispose()
