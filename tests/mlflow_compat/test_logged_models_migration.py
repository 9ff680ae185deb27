"""Migration 0007 on SQLite and PostgreSQL: dataset inputs kept in the old run tag move
into their table, and the migration goes down and up again."""

from pathlib import Path

import orjson
from alembic import command
from sqlalchemy import Connection, inspect, text

from tests.databases import PostgresDatabases, migrate
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import alembic_config

LEGACY_TAG = "trackboard.mlflow.inputs"
OLD_INPUTS = [
    {
        "tags": [{"key": "mlflow.data.context", "value": "train"}],
        "dataset": {"name": "d", "digest": "1", "source_type": "code"},
    },
    {"tags": [], "dataset": {"name": "e", "digest": "2"}},
]


def _move_inputs(connection: Connection) -> tuple[list[tuple[object, ...]], int]:
    config = alembic_config(connection)
    command.downgrade(config, "0006_search_indexes")
    assert "logged_models" not in inspect(connection).get_table_names()
    connection.execute(
        text(
            "INSERT INTO experiments (id, name, lifecycle_stage, creation_time, last_update_time)"
            " VALUES (4242, 'legacy', 'active', 1, 1)"
        )
    )
    connection.execute(
        text(
            'INSERT INTO runs (id, experiment_id, name, status, start_time, "user",'
            " lifecycle_stage) VALUES ('legacyrun', 4242, 'r', 'FINISHED', 1, '', 'active')"
        )
    )
    connection.execute(
        text("INSERT INTO run_tags (run_id, key, value) VALUES ('legacyrun', :key, :value)"),
        {"key": LEGACY_TAG, "value": orjson.dumps(OLD_INPUTS).decode()},
    )
    command.upgrade(config, "head")
    rows = connection.execute(
        text(
            "SELECT name, digest, source_type, source, tags, context, position"
            " FROM run_dataset_inputs WHERE run_id = 'legacyrun' ORDER BY position"
        )
    ).all()
    left = connection.execute(
        text("SELECT count(*) FROM run_tags WHERE key = :key"), {"key": LEGACY_TAG}
    ).scalar_one()
    return [tuple(row) for row in rows], int(left)


async def check_inputs_move(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            rows, tags_left = await connection.run_sync(_move_inputs)
    finally:
        await engine.dispose()
    assert rows == [
        ("d", "1", "code", "", '[{"key":"mlflow.data.context","value":"train"}]', "train", 0),
        ("e", "2", "", "", "[]", None, 1),
    ]
    assert tags_left == 0


async def test_old_dataset_inputs_move_into_their_table_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await migrate(url)
    await check_inputs_move(url)


async def test_old_dataset_inputs_move_into_their_table_on_postgres(
    postgres_databases: PostgresDatabases,
) -> None:
    async with postgres_databases.database() as url:
        await check_inputs_move(url)
