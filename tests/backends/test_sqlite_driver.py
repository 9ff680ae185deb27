"""SQLite statements made on the driver directly (`on_sqlite_driver`): the transaction's
BEGIN, and the ingest writer's statements, in SQLAlchemy's transaction and with
SQLAlchemy's errors."""

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from trackboard.server.backends.database import Database, on_sqlite_driver, sqlite_driver


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'x.db'}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    yield database
    await database.dispose()


async def test_a_write_transaction_holds_the_write_lock_from_its_begin(
    sqlite_database: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
    try:
        async with sqlite_database.transaction() as session:
            await session.connection()  # BEGIN IMMEDIATE, before any statement
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released by the commit
        other.execute("ROLLBACK")
    finally:
        other.close()


async def insert_twice(database: Database) -> None:
    """Rows 1 and 2, then 1 again (a primary-key conflict), in one transaction."""
    sql = "INSERT INTO t (id) VALUES (?)"
    async with database.transaction() as session:
        driver = await sqlite_driver(session)
        await on_sqlite_driver(driver.executemany(sql, [(1,), (2,)]), sql)
        await on_sqlite_driver(driver.executemany(sql, [(1,)]), sql)


async def select_nothing(database: Database) -> None:
    async with database.transaction() as session:
        driver = await sqlite_driver(session)
        await on_sqlite_driver(driver.execute_fetchall("SELECT nothing"), "SELECT nothing")


async def test_driver_statements_are_in_the_transaction_and_raise_sqlalchemys_errors(
    sqlite_database: Database,
) -> None:
    with pytest.raises(IntegrityError):
        await insert_twice(sqlite_database)
    async with sqlite_database.transaction(write=False) as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    with pytest.raises(OperationalError):
        await select_nothing(sqlite_database)
