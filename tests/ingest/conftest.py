"""Fixtures of the ingest tests: a migrated database of each kind with one run in it."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import PostgresDatabases, SqliteDatabases
from trackboard.server.backends.database import Database
from trackboard.server.clock import now_ms
from trackboard.server.models import Experiment, Run


@dataclass
class Store:
    database: Database
    run_ids: list[str]
    experiment_id: int


async def add_runs(database: Database, count: int) -> tuple[int, list[str]]:
    async with database.transaction() as session:
        experiment = Experiment(
            name=f"exp-{uuid.uuid4().hex[:8]}",
            lifecycle_stage="active",
            creation_time=now_ms(),
            last_update_time=now_ms(),
        )
        session.add(experiment)
        await session.flush()
        run_ids = [uuid.uuid4().hex for _ in range(count)]
        for run_id in run_ids:
            session.add(
                Run(
                    id=run_id,
                    experiment_id=experiment.id,
                    name=run_id[:8],
                    status="RUNNING",
                    start_time=now_ms(),
                    user="",
                    lifecycle_stage="active",
                )
            )
        return experiment.id, run_ids


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> AsyncIterator[Store]:
    """A fresh migrated database of each kind holding one experiment with three runs."""
    if request.param == "sqlite":
        url = await sqlite_databases.database(tmp_path)
        database = Database.connect(url)
        experiment_id, run_ids = await add_runs(database, 3)
        yield Store(database, run_ids, experiment_id)
        await database.dispose()
        return
    async with postgres_databases.database() as url:
        database = Database.connect(url)
        experiment_id, run_ids = await add_runs(database, 3)
        yield Store(database, run_ids, experiment_id)
        await database.dispose()
