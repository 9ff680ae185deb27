import numpy as np
from sqlalchemy import select, update

from tests.ingest.conftest import Store
from tests.ingest.test_compaction import chunk_sizes
from trackboard.server.clock import now_ms
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.upkeep import (
    DAY_MS,
    BatchIdPruner,
    Compactor,
    sweep_fragmented_series,
)
from trackboard.server.metrics.ingest.writer import write_messages
from trackboard.server.metrics.points import Points
from trackboard.server.models import AppliedBatch


def small_message(
    store: Store, batch_id: str | None, first_step: int, key: str = "loss"
) -> IngestMessage:
    steps = np.arange(first_step, first_step + 10, dtype=np.int64)
    return IngestMessage(
        store.run_ids[0],
        store.experiment_id,
        batch_id,
        {key: Points(steps, steps, steps.astype(np.float64))},
        0,
    )


async def stored_batch_ids(store: Store) -> set[str]:
    async with store.database.transaction(write=False) as session:
        return set((await session.scalars(select(AppliedBatch.batch_id))).all())


async def test_batch_ids_past_the_retention_are_pruned_and_recent_ones_kept(store: Store) -> None:
    for i in range(3):
        await write_messages(store.database, [small_message(store, f"b{i}", i * 10)])
    async with store.database.transaction() as session:
        old = now_ms() - 31 * DAY_MS
        await session.execute(
            update(AppliedBatch)
            .where(AppliedBatch.batch_id.in_(["b0", "b1"]))
            .values(applied_at=old)
        )
    pruner = BatchIdPruner(store.database, retention_days=30, interval_s=3600)
    assert await pruner.prune_due() == 2
    assert await stored_batch_ids(store) == {"b2"}
    # Once an interval: a second call right away does nothing.
    await write_messages(store.database, [small_message(store, "b3", 30)])
    assert await pruner.prune_due() == 0
    # A retried recent batch is still recognised.
    (outcome,) = await write_messages(store.database, [small_message(store, "b2", 20)])
    assert not outcome.stored


async def test_start_up_sweep_finds_series_fragmented_before_the_process_started(
    store: Store,
) -> None:
    for i in range(9):
        await write_messages(store.database, [small_message(store, None, i * 10)])
    for i in range(3):  # too few small chunks to be worth merging
        await write_messages(store.database, [small_message(store, None, i * 10, key="acc")])
    # A new process: its compactor has seen none of those writes.
    compactor = Compactor(store.database, min_chunks=8, interval_s=0.0)
    assert await sweep_fragmented_series(store.database, compactor) == 1
    assert await compactor.compact_due() == 9
    assert sorted(await chunk_sizes(store)) == [10, 10, 10, 90]
