"""experiment_run_counts (migrations 0012, 0014) on both stores: the triggers keep it equal
to a count of `runs` through every kind of change, the migration fills it on a database that
already holds runs, and the experiments list shows the counts. On PostgreSQL a count is the
sum of its experiment's slots, and transactions creating runs in one experiment at once do
not wait on each other."""

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.api.factories import make_experiment, make_run
from tests.databases import postgres_url
from tests.scale.test_metric_partitions import admin
from tests.services import require_service
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import alembic_config, upgrade_database

BEFORE = "0011_partition_metric_chunks"
BEFORE_SLOTS = "0013_global_order_indexes"

TRUTH = """
    SELECT experiment_id, COUNT(*), SUM(CASE WHEN status = 'RUNNING' THEN 1 ELSE 0 END)
    FROM runs WHERE lifecycle_stage = 'active' GROUP BY experiment_id
"""
KEPT = (
    "SELECT experiment_id, SUM(runs), SUM(running) FROM experiment_run_counts "
    "GROUP BY experiment_id"
)


async def counts(
    engine: AsyncEngine,
) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """(counted from runs, kept by the triggers); experiments whose kept counts fell to zero
    are left out, as they have no row to count from."""
    async with engine.connect() as connection:
        truth = {int(e): (int(r), int(n)) for e, r, n in await connection.execute(text(TRUTH))}
        kept = {int(e): (int(r), int(n)) for e, r, n in await connection.execute(text(KEPT))}
    return truth, {e: c for e, c in kept.items() if c != (0, 0)}


async def insert_runs(engine: AsyncEngine, experiment_id: int, statuses: list[str]) -> list[str]:
    ids = [uuid.uuid4().hex for _ in statuses]
    async with engine.begin() as connection:
        await connection.execute(
            text(
                'INSERT INTO runs (id, experiment_id, name, status, start_time, "user", '
                "lifecycle_stage) VALUES (:id, :e, :id, :status, 0, 'u', 'active')"
            ),
            [
                {"id": i, "e": experiment_id, "status": s}
                for i, s in zip(ids, statuses, strict=True)
            ],
        )
    return ids


async def downgrade_database(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


async def execute(engine: AsyncEngine, sql: str, **values: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), values)


async def insert_experiments(engine: AsyncEngine, experiment_ids: Sequence[int]) -> None:
    for experiment_id in experiment_ids:
        await execute(
            engine,
            "INSERT INTO experiments (id, name, lifecycle_stage, creation_time, "
            "last_update_time) VALUES (:id, :name, 'active', 0, 0)",
            id=experiment_id,
            name=f"e{experiment_id}",
        )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await insert_experiments(engine, (1, 2))
        yield engine
    finally:
        await engine.dispose()


async def test_counts_follow_every_change_of_runs(engine: AsyncEngine) -> None:
    async def check() -> None:
        truth, kept = await counts(engine)
        assert kept == truth

    first = await insert_runs(engine, 1, ["RUNNING"] * 5 + ["FINISHED"] * 3)
    second = await insert_runs(engine, 2, ["RUNNING", "FAILED"])
    await check()
    assert (await counts(engine))[1][1] == (8, 5)
    # A run finishes; another is renamed (no count changes).
    await execute(engine, "UPDATE runs SET status = 'FINISHED' WHERE id = :id", id=first[0])
    await execute(engine, "UPDATE runs SET name = 'renamed' WHERE id = :id", id=first[1])
    await check()
    # Soft delete and restore of one run, then of a whole experiment in one statement.
    await execute(engine, "UPDATE runs SET lifecycle_stage = 'deleted' WHERE id = :id", id=first[2])
    await check()
    await execute(engine, "UPDATE runs SET lifecycle_stage = 'active' WHERE id = :id", id=first[2])
    await execute(engine, "UPDATE runs SET lifecycle_stage = 'deleted' WHERE experiment_id = 1")
    await check()
    assert 1 not in (await counts(engine))[1]
    await execute(engine, "UPDATE runs SET lifecycle_stage = 'active' WHERE experiment_id = 1")
    await check()
    # A run moved between experiments, and one statement touching both experiments.
    await execute(engine, "UPDATE runs SET experiment_id = 2 WHERE id = :id", id=first[3])
    await execute(engine, "UPDATE runs SET status = 'KILLED' WHERE status = 'RUNNING'")
    await check()
    # Purges: runs deleted for good, then a whole experiment (its runs go by cascade).
    await execute(engine, "DELETE FROM runs WHERE id = :id", id=second[0])
    await check()
    await execute(engine, "DELETE FROM experiments WHERE id = 1")
    await check()
    assert (await counts(engine))[1] == {2: (2, 0)}


async def test_the_experiments_list_shows_active_and_running_runs(
    client: httpx.AsyncClient,
) -> None:
    busy = await make_experiment(client, "busy")
    idle = await make_experiment(client, "idle")
    runs = [await make_run(client, busy["id"]) for _ in range(3)]
    await make_run(client, busy["id"], status="FINISHED")
    finished = await client.patch(f"/api/v1/runs/{runs[0]['id']}", json={"status": "FINISHED"})
    assert finished.status_code == 200, finished.text
    assert (await client.delete(f"/api/v1/runs/{runs[1]['id']}")).status_code == 200
    listed = (await client.get("/api/v1/experiments")).json()["experiments"]
    by_name = {e["name"]: (e["run_count"], e["active_run_count"]) for e in listed}
    assert by_name == {"Default": (0, 0), "busy": (3, 1), "idle": (0, 0)}
    # The same figures as the experiment's dashboard aggregation.
    stats = (await client.get(f"/api/v1/experiments/{busy['id']}/dashboard")).json()
    assert (stats["total_runs"], stats["runs_by_status"].get("RUNNING")) == by_name["busy"]
    assert idle["id"] in [e["id"] for e in listed]


@pytest.fixture(params=["sqlite", "postgres"])
async def url_at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new database migrated to 0011 only (the tests' templates are at the head)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    else:
        require_service("PostgreSQL", "127.0.0.1", 5432)
        name = f"tb_test_{uuid.uuid4().hex[:12]}"
        await admin(f'CREATE DATABASE "{name}"')
        url = postgres_url(name)
    engine = create_engine(url)
    try:
        await upgrade_database(engine, BEFORE)
    finally:
        await engine.dispose()
    try:
        yield url
    finally:
        if request.param == "postgres":
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_migration_counts_the_runs_already_there(url_at_0011: str) -> None:
    engine = create_engine(url_at_0011)
    try:
        await insert_experiments(engine, (1, 2, 3))
        await insert_runs(engine, 1, ["RUNNING"] * 4 + ["FINISHED"] * 6)
        deleted = await insert_runs(engine, 2, ["FAILED", "RUNNING"])
        await execute(
            engine, "UPDATE runs SET lifecycle_stage = 'deleted' WHERE id = :id", id=deleted[0]
        )
        await upgrade_database(engine)
        truth, kept = await counts(engine)
        assert kept == truth == {1: (10, 4), 2: (1, 1)}
        # And the triggers take over from there.
        await insert_runs(engine, 3, ["RUNNING"])
        truth, kept = await counts(engine)
        assert kept == truth
        assert kept[3] == (1, 1)
    finally:
        await engine.dispose()


async def begin_insert(connection: AsyncConnection, experiment_id: int) -> int:
    """Insert a run in the connection's open transaction; the transaction's count slot."""
    run_id = uuid.uuid4().hex
    await connection.execute(
        text(
            'INSERT INTO runs (id, experiment_id, name, status, start_time, "user", '
            "lifecycle_stage) VALUES (:id, :e, :id, 'RUNNING', 0, 'u', 'active')"
        ),
        {"id": run_id, "e": experiment_id},
    )
    slot = await connection.execute(text("SELECT pg_current_xact_id()::text::bigint % 16"))
    return int(slot.scalar_one())


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_runs_created_at_once_in_one_experiment_do_not_wait_on_each_other(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as first, engine.connect() as second:
        first_slot = await begin_insert(first, 1)
        # A lock wait fails at once instead of hanging: before 0014 the second insert
        # waited for the first transaction's end on the experiment's one count row.
        await second.execute(text("SET lock_timeout = '2s'"))
        second_slot = first_slot
        while second_slot == first_slot:
            # Another transaction on the server may have taken the next id: this one's
            # slot would then be the first's, a wait the test does not mean to show.
            await second.rollback()
            second_slot = await begin_insert(second, 1)
        await second.commit()
        await first.commit()
    truth, kept = await counts(engine)
    assert kept == truth == {1: (2, 2)}


async def test_the_downgrade_folds_the_slots_into_one_row_per_experiment(
    url_at_0011: str,
) -> None:
    engine = create_engine(url_at_0011)
    try:
        await upgrade_database(engine)
        await insert_experiments(engine, (1, 2))
        # One transaction a run: on PostgreSQL they spread over the slots.
        for status in ["RUNNING"] * 5 + ["FINISHED"] * 12:
            await insert_runs(engine, 1, [status])
        await insert_runs(engine, 2, ["FAILED"])
        await execute(engine, "DELETE FROM runs WHERE experiment_id = 2")
        await downgrade_database(engine, BEFORE_SLOTS)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT experiment_id, runs, running FROM experiment_run_counts")
                )
            ).all()
        assert sorted(tuple(row) for row in rows) == [(1, 17, 5), (2, 0, 0)]
    finally:
        await engine.dispose()
