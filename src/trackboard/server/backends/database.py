"""The SQLAlchemy engine and session factory for SQLite (embedded) or PostgreSQL."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def one_of(
    session: AsyncSession, column: ColumnElement[str], values: Sequence[str]
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


def _begin_sqlite(connection: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads and then
    # writes can fail at once with "database is locked" instead of waiting its turn.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine(
    url: str, pool_size: int = 10, random_page_cost: float | None = None
) -> AsyncEngine:
    """An engine for the URL. On PostgreSQL, `random_page_cost` (when given) is set for
    every connection: see `Settings.database_random_page_cost`."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    server_settings = {}
    if random_page_cost is not None:
        server_settings["random_page_cost"] = str(random_page_cost)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings},
    )


@dataclass
class Database:
    """One engine and its session factory; requests each own one transaction."""

    engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    write_sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(
        cls, url: str, pool_size: int = 10, random_page_cost: float | None = None
    ) -> "Database":
        engine = create_engine(url, pool_size, random_page_cost)
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        return cls(
            engine,
            async_sessionmaker(engine, expire_on_commit=False),
            async_sessionmaker(writer, expire_on_commit=False),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends normally, rolls back otherwise."""
        factory = self.write_sessions if write else self.read_sessions
        async with factory() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
