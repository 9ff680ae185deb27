"""SQL for metric chunks, summaries and applied batch ids.

Dialect pairs: upserts (PostgreSQL and SQLite spell ON CONFLICT differently) and chunk
inserts (binary COPY on PostgreSQL, executemany on SQLite).

On SQLite the ingest writer's three statements go to the driver directly
(`backends.database.on_sqlite_driver`), as SQL that SQLAlchemy compiled once, in the
session's transaction: one round trip each to aiosqlite's thread instead of 3-4.
"""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, case, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import on_sqlite_driver, one_of, sqlite_driver
from trackboard.server.backends.replicas import parse_lsn
from trackboard.server.models import AppliedBatch, MetricChunk, MetricSummary

_DIALECT_INSERT: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _dialect_insert(session: AsyncSession, table: Any) -> Any:
    return _DIALECT_INSERT[session.get_bind().dialect.name](table)


async def insert_applied_batch(
    session: AsyncSession, run_id: str, batch_id: str, applied_at: int
) -> bool:
    """Record a batch id; False when the run already has it (the batch is a repeat)."""
    statement = (
        _dialect_insert(session, AppliedBatch)
        .values(run_id=run_id, batch_id=batch_id, applied_at=applied_at)
        .on_conflict_do_nothing(index_elements=["run_id", "batch_id"])
    )
    result = await session.execute(statement.returning(AppliedBatch.batch_id))
    return result.first() is not None


@functools.cache
def _insert_applied_batches_statement(dialect: str) -> Any:
    """Built once per dialect: a statement rebuilt per write, or one whose values are part
    of it, is compiled again each time (about half the CPU of a one-point write)."""
    table = AppliedBatch.__table__
    return (
        _DIALECT_INSERT[dialect](table)
        .on_conflict_do_nothing(index_elements=["run_id", "batch_id"])
        .returning(table.c.run_id, table.c.batch_id)
    )


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for SQLite once: its SQL and the names of its `?` parameters."""

    sql: str
    names: tuple[str, ...]

    def arguments(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.names)


def _for_sqlite(statement: Any, columns: Sequence[str] = ()) -> DriverStatement:
    compiled = statement.compile(dialect=_SQLITE, column_keys=list(columns))
    assert compiled.positiontup is not None
    return DriverStatement(str(compiled), tuple(compiled.positiontup))


_SQLITE = sqlite.dialect()
# Applied batch ids: multi-row INSERT … RETURNING (sqlite3's executemany returns no rows) of
# at most this many rows, compiled once per row count; the ingest batch limit (200 messages
# by default) makes one statement a write.
_MAX_ID_ROWS = 256


@functools.lru_cache(maxsize=_MAX_ID_ROWS)
def _sqlite_insert_applied_batches(rows: int) -> DriverStatement:
    columns = ("run_id", "batch_id", "applied_at")
    values: list[dict[str, Any]] = [
        {column: bindparam(f"{column}_{index}") for column in columns} for index in range(rows)
    ]
    return _for_sqlite(_insert_applied_batches_statement("sqlite").values(values))


async def insert_applied_batches(
    session: AsyncSession, ids: Sequence[tuple[str, str]], applied_at: int
) -> set[tuple[str, str]]:
    """Record (run_id, batch_id) pairs; returns those that were new (the others are repeats).

    One statement for all ids (SQLAlchemy's insertmanyvalues; on SQLite one multi-row
    statement on the driver); callers pass them sorted so that concurrent writers take the
    row locks in the same order.
    """
    if not ids:
        return set()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        driver = await sqlite_driver(session)
        new: set[tuple[str, str]] = set()
        for start in range(0, len(ids), _MAX_ID_ROWS):
            part = ids[start : start + _MAX_ID_ROWS]
            compiled = _sqlite_insert_applied_batches(len(part))
            values: dict[str, Any] = {}
            for index, (run_id, batch_id) in enumerate(part):
                values[f"run_id_{index}"] = run_id
                values[f"batch_id_{index}"] = batch_id
                values[f"applied_at_{index}"] = applied_at
            arguments = compiled.arguments(values)
            found = await on_sqlite_driver(
                driver.execute_fetchall(compiled.sql, arguments), compiled.sql
            )
            new.update((row[0], row[1]) for row in found)
        return new
    statement = _insert_applied_batches_statement(dialect)
    rows = [{"run_id": r, "batch_id": b, "applied_at": applied_at} for r, b in ids]
    result = await session.execute(statement, rows)
    return {(row[0], row[1]) for row in result}


async def select_applied_batch_ids(
    session: AsyncSession, run_id: str, batch_ids: Sequence[str]
) -> set[str]:
    """Which of `batch_ids` the run has stored: a primary-key lookup of `applied_batches`."""
    if not batch_ids:
        return set()
    table = AppliedBatch.__table__
    query = select(table.c.batch_id).where(
        table.c.run_id == run_id, one_of(session, table.c.batch_id, batch_ids)
    )
    return {str(batch_id) for batch_id in (await session.scalars(query)).all()}


async def select_wal_position(session: AsyncSession) -> int:
    """The primary's current WAL position (PostgreSQL): at or past every commit it has
    made, so a replica that replayed this far shows all of them."""
    position = await session.scalar(text("SELECT pg_current_wal_lsn()::text"))
    return parse_lsn(str(position))


CHUNK_COLUMNS = ("run_id", "key", "min_step", "max_step", "point_count", "data", "overview")
_SQLITE_INSERT_CHUNKS = _for_sqlite(insert(cast(Table, MetricChunk.__table__)), CHUNK_COLUMNS)


async def insert_metric_chunks(session: AsyncSession, chunks: list[dict[str, Any]]) -> None:
    """executemany on SQLite, on the driver (see the module's docstring)."""
    if chunks:
        driver = await sqlite_driver(session)
        rows = [_SQLITE_INSERT_CHUNKS.arguments(chunk) for chunk in chunks]
        sql = _SQLITE_INSERT_CHUNKS.sql
        await on_sqlite_driver(driver.executemany(sql, rows), sql)


async def copy_metric_chunks(session: AsyncSession, chunks: list[dict[str, Any]]) -> None:
    """Insert chunks with binary COPY on PostgreSQL (in the session's transaction), else
    with executemany."""
    if not chunks:
        return
    if session.get_bind().dialect.name != "postgresql":
        await insert_metric_chunks(session, chunks)
        return
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        # SQLAlchemy's asyncpg adapter opens the transaction at the first statement; COPY
        # on the raw connection would otherwise run, and commit, on its own.
        await session.execute(text("SELECT 1"))
    await raw.copy_records_to_table(
        MetricChunk.__tablename__,
        records=[tuple(chunk[column] for column in CHUNK_COLUMNS) for chunk in chunks],
        columns=CHUNK_COLUMNS,
    )


async def select_small_chunks_for_update(
    session: AsyncSession, run_id: str, key: str, below_points: int
) -> Sequence[Row[int, bytes]]:
    """A series' chunks of fewer than `below_points` points, locked; chunks another
    compactor holds are skipped (SQLite ignores the lock: it has one writer anyway)."""
    query = (
        select(MetricChunk.id, MetricChunk.data)
        .where(
            MetricChunk.run_id == run_id,
            MetricChunk.key == key,
            MetricChunk.point_count < below_points,
        )
        .order_by(MetricChunk.min_step)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).all()


async def select_chunk_sizes_for_update(
    session: AsyncSession, run_id: str, key: str
) -> Sequence[Row[int, int]]:
    """(id, point_count) of a series' chunks in step order, locked (as above, skipping
    those a compactor holds), without their data."""
    query = (
        select(MetricChunk.id, MetricChunk.point_count)
        .where(MetricChunk.run_id == run_id, MetricChunk.key == key)
        .order_by(MetricChunk.min_step, MetricChunk.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(query)).all()


async def select_chunk_data(
    session: AsyncSession, run_id: str, ids: Sequence[int]
) -> Sequence[bytes]:
    """The data of these chunks of the run (any order: callers sort the decoded points).
    The run lets PostgreSQL read one partition by its key (run_id, id)."""
    query = select(MetricChunk.data).where(MetricChunk.run_id == run_id, MetricChunk.id.in_(ids))
    return (await session.scalars(query)).all()


async def select_fragmented_series(
    session: AsyncSession, below_points: int, min_chunks: int, limit: int
) -> Sequence[Row[str, str, int]]:
    """(run_id, key, small chunks) of series holding at least `min_chunks` chunks of fewer
    than `below_points` points: a scan of the chunk table's small columns, run once."""
    small = func.count().label("small")
    query = (
        select(MetricChunk.run_id, MetricChunk.key, small)
        .where(MetricChunk.point_count < below_points)
        .group_by(MetricChunk.run_id, MetricChunk.key)
        .having(small >= min_chunks)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def delete_applied_batches_before(session: AsyncSession, cutoff_ms: int) -> int:
    result = await session.execute(delete(AppliedBatch).where(AppliedBatch.applied_at < cutoff_ms))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delete_chunks(session: AsyncSession, run_id: str, ids: Sequence[int]) -> None:
    """These chunks of the run (named so that PostgreSQL goes to its partition by key)."""
    await session.execute(
        delete(MetricChunk).where(MetricChunk.run_id == run_id, MetricChunk.id.in_(ids))
    )


@functools.cache
def _upsert_summaries_statement(dialect: str) -> Any:
    """Built once per dialect, so that it is compiled once (see above)."""
    table = MetricSummary.__table__
    statement = _DIALECT_INSERT[dialect](table)
    new = statement.excluded
    old = table.c
    newer = (new.last_step > old.last_step) | (
        (new.last_step == old.last_step) & (new.last_timestamp >= old.last_timestamp)
    )

    def latest(column: str) -> Any:
        return case((newer, new[column]), else_=old[column])

    def extreme(column: str, take_new_when: Any) -> Any:
        return case(
            (old[column].is_(None), new[column]),
            (new[column].is_(None), old[column]),
            (take_new_when, new[column]),
            else_=old[column],
        )

    return statement.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={
            "last_value": latest("last_value"),
            "last_step": latest("last_step"),
            "last_timestamp": latest("last_timestamp"),
            "min_value": extreme("min_value", new.min_value < old.min_value),
            "max_value": extreme("max_value", new.max_value > old.max_value),
            "count": old["count"] + new["count"],
        },
    )


@functools.cache
def _sqlite_upsert_summaries() -> DriverStatement:
    columns = cast(Table, MetricSummary.__table__).c.keys()
    return _for_sqlite(_upsert_summaries_statement("sqlite"), columns)


async def upsert_metric_summaries(session: AsyncSession, summaries: list[dict[str, Any]]) -> None:
    """Merge batch summaries into stored ones: latest by (step, timestamp), min, max, count.
    On SQLite through the driver (see the module's docstring)."""
    if not summaries:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        compiled = _sqlite_upsert_summaries()
        driver = await sqlite_driver(session)
        rows = [compiled.arguments(row) for row in summaries]
        await on_sqlite_driver(driver.executemany(compiled.sql, rows), compiled.sql)
        return
    await session.execute(_upsert_summaries_statement(dialect), summaries)


def _key_in_range(query: Any, key: str, start_step: int | None, end_step: int | None) -> Any:
    query = query.where(MetricChunk.key == key)
    if start_step is not None:
        query = query.where(MetricChunk.max_step >= start_step)
    if end_step is not None:
        query = query.where(MetricChunk.min_step <= end_step)
    return query


def _chunks_in_range(
    query: Any, run_id: str, key: str, start_step: int | None, end_step: int | None
) -> Any:
    return _key_in_range(query.where(MetricChunk.run_id == run_id), key, start_step, end_step)


async def select_chunks(
    session: AsyncSession,
    run_id: str,
    key: str,
    start_step: int | None,
    end_step: int | None,
    *,
    overviews: bool = False,
) -> Sequence[bytes]:
    """The chunks' points, or only their overviews, in step order."""
    column = MetricChunk.overview if overviews else MetricChunk.data
    query = _chunks_in_range(select(column), run_id, key, start_step, end_step)
    return (await session.scalars(query.order_by(MetricChunk.min_step, MetricChunk.id))).all()


async def select_chunks_of_runs(
    session: AsyncSession,
    run_ids: Sequence[str],
    key: str,
    start_step: int | None,
    end_step: int | None,
    *,
    overviews: bool = False,
) -> Sequence[Row[str, bytes]]:
    """(run_id, points or overview) of one key's chunks of several runs, in one query."""
    column = MetricChunk.overview if overviews else MetricChunk.data
    query = _key_in_range(
        select(MetricChunk.run_id, column).where(
            one_of(session, MetricChunk.__table__.c.run_id, run_ids)
        ),
        key,
        start_step,
        end_step,
    )
    return (await session.execute(query.order_by(MetricChunk.min_step, MetricChunk.id))).all()


async def count_points_of_runs(
    session: AsyncSession,
    run_ids: Sequence[str],
    key: str,
    start_step: int | None,
    end_step: int | None,
) -> dict[str, int]:
    """Points of one key per run (runs without any are absent), in one query."""
    query = _key_in_range(
        select(MetricChunk.run_id, func.sum(MetricChunk.point_count))
        .where(one_of(session, MetricChunk.__table__.c.run_id, run_ids))
        .group_by(MetricChunk.run_id),
        key,
        start_step,
        end_step,
    )
    return {str(run_id): int(count) for run_id, count in (await session.execute(query)).all()}


async def count_points(
    session: AsyncSession, run_id: str, key: str, start_step: int | None, end_step: int | None
) -> int:
    query = _chunks_in_range(
        select(func.coalesce(func.sum(MetricChunk.point_count), 0)),
        run_id,
        key,
        start_step,
        end_step,
    )
    return int((await session.execute(query)).scalar_one())


SummaryRow = Row[str, str, float | None, int, int, float | None, float | None, int]
_SUMMARIES = MetricSummary.__table__
SUMMARY_COLUMNS = (
    _SUMMARIES.c.run_id,
    _SUMMARIES.c.key,
    _SUMMARIES.c.last_value,
    _SUMMARIES.c.last_step,
    _SUMMARIES.c.last_timestamp,
    _SUMMARIES.c.min_value,
    _SUMMARIES.c.max_value,
    _SUMMARIES.c.count,
)


async def select_summaries(session: AsyncSession, run_ids: Sequence[str]) -> Sequence[SummaryRow]:
    """Summary rows (the columns of `SUMMARY_COLUMNS`) of these runs, from the Core table:
    a page of runs loads thousands, and ORM instances cost more than the query."""
    query = select(*SUMMARY_COLUMNS).where(one_of(session, _SUMMARIES.c.run_id, run_ids))
    rows: Sequence[SummaryRow] = (await session.execute(query)).all()
    return rows


async def select_summary(session: AsyncSession, run_id: str, key: str) -> MetricSummary | None:
    return await session.get(MetricSummary, (run_id, key))
