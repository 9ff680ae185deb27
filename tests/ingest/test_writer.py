import asyncio
import uuid

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.ingest.conftest import Store
from trackboard.server.metrics import service
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.writer import Outcome, write_messages
from trackboard.server.metrics.points import Points
from trackboard.server.models import AppliedBatch, MetricChunk, MetricSummary


def points(start: int, n: int, value: float = 1.0) -> Points:
    steps = np.arange(start, start + n, dtype=np.int64)
    return Points(steps, steps + 1000, np.full(n, value))


def message(store: Store, run: int, batch_id: str | None, **series: Points) -> IngestMessage:
    return IngestMessage(store.run_ids[run], store.experiment_id, batch_id, series, 0)


async def series(store: Store, run: int, key: str) -> Points:
    async with store.database.transaction(write=False) as session:
        return await service.read_series(session, store.run_ids[run], key)


async def chunk_count(store: Store) -> int:
    async with store.database.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(MetricChunk)) or 0)


async def test_messages_of_one_write_merge_into_one_chunk_and_summary_per_key(
    store: Store,
) -> None:
    messages = [
        message(store, 0, f"b{i}", loss=points(i * 10, 10, value=float(i))) for i in range(5)
    ]
    messages.append(message(store, 1, None, loss=points(0, 3)))
    outcomes = await write_messages(store.database, messages)
    assert [o.stored for o in outcomes] == [True] * 6
    assert await chunk_count(store) == 2
    loss = await series(store, 0, "loss")
    assert loss.steps.tolist() == list(range(50))
    async with store.database.transaction(write=False) as session:
        summary = await session.get(MetricSummary, (store.run_ids[0], "loss"))
    assert summary is not None
    assert (summary.count, summary.last_step, summary.last_value) == (50, 49, 4.0)
    assert (summary.min_value, summary.max_value) == (0.0, 4.0)


async def test_repeated_batch_id_is_stored_once_within_and_across_writes(store: Store) -> None:
    first = message(store, 0, "same", loss=points(0, 4))
    outcomes = await write_messages(store.database, [first, first])
    assert [o.stored for o in outcomes] == [True, False]
    again = await write_messages(store.database, [first, message(store, 1, "same", x=points(0, 1))])
    assert [o.stored for o in again] == [False, True]
    assert len(await series(store, 0, "loss")) == 4


async def test_a_write_of_more_batch_ids_than_one_statement_takes_stores_each_once(
    store: Store,
) -> None:
    # SQLite records batch ids 256 to a statement: 600 span three.
    batches = [message(store, 0, f"b{i}", loss=points(i, 1)) for i in range(600)]
    assert all(o.stored for o in await write_messages(store.database, batches))
    repeats = await write_messages(store.database, [batches[0], batches[300], batches[599]])
    assert [o.stored for o in repeats] == [False, False, False]
    assert len(await series(store, 0, "loss")) == 600


async def test_a_refused_message_is_isolated_and_the_rest_are_written(store: Store) -> None:
    good = message(store, 0, "ok", loss=points(0, 2))
    orphan = IngestMessage(uuid.uuid4().hex, store.experiment_id, "orphan", {"x": points(0, 2)}, 0)
    outcomes = await write_messages(store.database, [good, orphan])
    assert outcomes[0] == Outcome(True)
    assert not outcomes[1].stored
    assert outcomes[1].error is not None
    assert len(await series(store, 0, "loss")) == 2


# SQLite has one writer at a time: the race exists on PostgreSQL only.
@pytest.mark.parametrize("store", ["postgres"], indirect=True)
async def test_two_writers_given_the_same_batches_store_them_once(store: Store) -> None:
    batches = [message(store, i % 3, f"b{i}", loss=points(i * 10, 10)) for i in range(30)]
    results = await asyncio.gather(
        *[write_messages(store.database, batches[::-1] if k % 2 else batches) for k in range(4)]
    )
    stored = [sum(o.stored for o in outcomes) for outcomes in results]
    assert sum(stored) == 30
    async with store.database.transaction(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(AppliedBatch)) == 30
        total = await session.scalar(select(func.sum(MetricSummary.count)))
    assert total == 300
