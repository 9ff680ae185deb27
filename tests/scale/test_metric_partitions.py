"""Migration 0011 on PostgreSQL: metric_chunks of a database written under 0010 becomes 16
hash partitions by run with the same rows, takes new writes and compaction there, prunes
reads of one run to one partition, and goes back with the same rows on downgrade."""

import re
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import numpy as np
import pytest
from alembic import command
from sqlalchemy import Connection, delete, insert
from sqlalchemy.engine import make_url

from tests.databases import postgres_url
from tests.services import POSTGRES_ADMIN_URL, require_service
from trackboard.server.backends.database import Database, create_engine
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.upkeep import compact_series
from trackboard.server.metrics.ingest.writer import apply_messages
from trackboard.server.metrics.points import Points
from trackboard.server.migrate import alembic_config, upgrade_database
from trackboard.server.models import Experiment, Run
from trackboard.server.retention.space import storage_bytes

pytestmark = pytest.mark.postgres

BEFORE = "0010_saved_views"
RUNS = 40
SNAPSHOT = (
    "SELECT id, run_id, key, min_step, max_step, point_count, md5(data) AS data, "
    "md5(overview) AS overview FROM metric_chunks ORDER BY id"
)


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def database_at_0010() -> AsyncIterator[str]:
    """A new database migrated to 0010 only (the test template is at the head)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"tb_test_{uuid.uuid4().hex[:12]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = postgres_url(name)
    try:
        engine = create_engine(url)
        try:
            await upgrade_database(engine, BEFORE)
        finally:
            await engine.dispose()
        yield url
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def write(database: Database, run_ids: list[str], first_step: int, batches: int) -> None:
    """`batches` small batches (10 points) of `loss` and one of `acc` per run, each its own
    write: a fragmented series for compaction to merge."""
    rng = np.random.default_rng(first_step)
    for b in range(batches):
        steps = np.arange(first_step + b * 10, first_step + b * 10 + 10, dtype=np.int64)
        messages = [
            IngestMessage(
                run_id,
                1,
                f"b-{first_step}-{b}",
                {key: Points(steps, steps + 1_700_000_000_000, rng.random(10)) for key in keys},
                time.time_ns(),
            )
            for run_id in run_ids
            for keys in [("loss", "acc") if b == 0 else ("loss",)]
        ]
        async with database.transaction() as session:
            await apply_messages(session, messages)


async def rows(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


def downgrade(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), BEFORE)


async def test_partitioning_keeps_every_chunk_and_takes_new_writes(database_at_0010: str) -> None:
    url = database_at_0010
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    run_ids = [uuid.uuid4().hex for _ in range(RUNS)]
    database = Database.connect(url)
    try:
        async with database.transaction() as session:
            await session.execute(
                insert(Experiment).values(id=1, name="e", creation_time=0, last_update_time=0)
            )
            await session.execute(
                insert(Run),
                [
                    {
                        "id": r,
                        "experiment_id": 1,
                        "name": r[:6],
                        "status": "RUNNING",
                        "start_time": 0,
                        "user": "t",
                    }
                    for r in run_ids
                ],
            )
        await write(database, run_ids, 0, 3)
        before = await rows(dsn, SNAPSHOT)
        assert len(before) == RUNS * 4

        engine = create_engine(url)
        try:
            await upgrade_database(engine)
        finally:
            await engine.dispose()
        assert await rows(dsn, SNAPSHOT) == before
        partitions = await rows(
            dsn, "SELECT relid::text FROM pg_partition_tree('metric_chunks') WHERE isleaf"
        )
        assert len(partitions) == 16
        engine = create_engine(url)
        try:
            # The parent has no storage of its own: the size is its partitions'.
            assert (await storage_bytes(engine))["metric_chunks"] > 16 * 8192
        finally:
            await engine.dispose()
        spread = await rows(dsn, "SELECT count(DISTINCT tableoid) AS n FROM metric_chunks")
        assert spread[0]["n"] > 8  # 40 runs hashed over 16 partitions

        # New writes go on with the same sequence; compaction deletes and copies in place.
        await database.dispose()
        database = Database.connect(url)
        await write(database, run_ids, 1_000, 2)
        async with database.transaction() as session:
            assert await compact_series(session, run_ids[0], "loss") == 5
        after = await rows(dsn, SNAPSHOT)
        assert len(after) == RUNS * 7 - 4  # 5 chunks of run 0's loss became 1
        assert min(r["id"] for r in after if r["min_step"] >= 1_000) > max(r["id"] for r in before)
        merged = [r for r in after if r["run_id"] == run_ids[0] and r["key"] == "loss"]
        assert [(r["min_step"], r["max_step"], r["point_count"]) for r in merged] == [
            (0, 1_019, 50)
        ]

        # A read of one run's series scans one partition.
        plan = await rows(
            dsn,
            "EXPLAIN (FORMAT JSON) SELECT data FROM metric_chunks "
            "WHERE run_id = $1 AND key = 'loss'",
            run_ids[1],
        )
        scanned = set(re.findall(r'"Relation Name": "(\w+)"', plan[0][0]))
        assert len(scanned) == 1, plan
        assert scanned.pop().startswith("metric_chunks_p"), plan

        # Deleting a run still removes its chunks (the foreign key's cascade).
        async with database.transaction() as session:
            await session.execute(delete(Run).where(Run.id == run_ids[2]))
        assert not await rows(dsn, "SELECT 1 FROM metric_chunks WHERE run_id = $1", run_ids[2])
        kept = await rows(dsn, SNAPSHOT)
    finally:
        await database.dispose()

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
    finally:
        await engine.dispose()
    assert await rows(dsn, SNAPSHOT) == kept
    assert not await rows(
        dsn, "SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'metric_chunks'::regclass"
    )
