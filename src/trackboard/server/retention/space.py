"""What the database takes on disk, and giving space back after a purge.

PostgreSQL: `pg_total_relation_size` per table (heap, TOAST and indexes; of a partitioned
table, its partitions'). A plain `VACUUM` makes the space of deleted rows reusable by later
writes without blocking them; only `VACUUM FULL` returns it to the operating system, and it
rewrites each table under an ACCESS EXCLUSIVE lock: no reads or writes of that table until
it is done.
SQLite: the file (with its WAL). Deleted pages go to the free list and are reused; `VACUUM`
rewrites the file to return them, holding the write lock while it runs.
"""

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The tables a purge or thinning pass shrinks.
TABLES = (
    "runs",
    "run_params",
    "run_tags",
    "metric_chunks",
    "metric_summaries",
    "applied_batches",
    "run_dataset_inputs",
    "run_model_links",
    "experiments",
    "experiment_tags",
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
)


def sqlite_path(engine: AsyncEngine) -> Path:
    database = engine.url.database
    assert database, "an in-memory SQLite database has no file"
    return Path(database)


async def storage_bytes(engine: AsyncEngine) -> dict[str, int]:
    """Bytes on disk: per table on PostgreSQL; the file (`file`, `wal`) on SQLite."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine)
        wal = path.with_name(path.name + "-wal")
        return {
            "file": path.stat().st_size,
            "wal": wal.stat().st_size if wal.exists() else 0,
        }
    async with engine.connect() as connection:
        # A partitioned table (metric_chunks, migration 0011) has no storage of its own:
        # its size is its partitions' (pg_partition_tree lists none for a plain table).
        rows = await connection.execute(
            text(
                "SELECT name, pg_total_relation_size(to_regclass(name)) + coalesce(("
                "SELECT sum(pg_total_relation_size(relid)) "
                "FROM pg_partition_tree(to_regclass(name)) WHERE isleaf), 0) "
                "FROM unnest(CAST(:t AS text[])) AS name WHERE to_regclass(name) IS NOT NULL"
            ),
            {"t": list(TABLES)},
        )
        return {str(name): int(size) for name, size in rows}


async def reclaim_space(engine: AsyncEngine, *, full: bool, tables: Sequence[str] = TABLES) -> None:
    """VACUUM outside any transaction. PostgreSQL: plain (reusable space, no blocking) or
    FULL (space returned, each table locked while rewritten); SQLite: the whole file
    (after a checkpoint, so that the WAL's pages are in it), only when `full`."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            if full:
                # The driver's own connection: the engine's `begin` hook would wrap the
                # statements in a transaction, which VACUUM refuses.
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                # VACUUM writes the new file through the WAL: the last checkpoint moves it
                # into the file and empties the WAL.
                checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)"
                for statement in (checkpoint, "VACUUM", checkpoint):
                    # Each statement finished (its cursor read and closed): VACUUM refuses
                    # to run beside a statement in progress.
                    async with raw.execute(statement) as cursor:
                        await cursor.fetchall()
            return
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        verb = "VACUUM (FULL, ANALYZE)" if full else "VACUUM (ANALYZE)"
        await autocommit.exec_driver_sql(f"{verb} {', '.join(tables)}")
