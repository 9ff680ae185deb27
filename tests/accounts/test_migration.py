"""The accounts migration: one head, and up/down/up on SQLite and PostgreSQL."""

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from tests.databases import PostgresDatabases, migrate
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import alembic_config


def test_migrations_have_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations fork into several heads: {heads}"


def _round_trip(connection: Connection) -> list[str]:
    config = alembic_config(connection)
    command.downgrade(config, "0003_accounts-1")
    tables_down = set(inspect(connection).get_table_names())
    assert "api_keys" not in tables_down
    assert "project_id" not in {c["name"] for c in inspect(connection).get_columns("experiments")}
    command.upgrade(config, "head")
    return sorted(inspect(connection).get_table_names())


async def check_round_trip(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(_round_trip)
        assert {"users", "projects", "project_members", "api_keys"} <= set(tables)
    finally:
        await engine.dispose()


async def test_accounts_migration_goes_down_and_up_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await migrate(url)
    await check_round_trip(url)


async def test_accounts_migration_goes_down_and_up_on_postgres(
    postgres_databases: PostgresDatabases,
) -> None:
    async with postgres_databases.database() as url:
        await check_round_trip(url)
