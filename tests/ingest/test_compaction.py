import numpy as np
from sqlalchemy import func, select

from tests.ingest.conftest import Store
from trackboard.server.metrics import service
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.upkeep import Compactor
from trackboard.server.metrics.ingest.writer import write_messages
from trackboard.server.metrics.points import Points
from trackboard.server.models import MetricChunk, MetricSummary


async def chunk_sizes(store: Store) -> list[int]:
    async with store.database.transaction(write=False) as session:
        query = select(MetricChunk.point_count).order_by(MetricChunk.min_step)
        return list((await session.scalars(query)).all())


async def test_small_writes_are_compacted_into_one_chunk_with_the_same_points(
    store: Store,
) -> None:
    compactor = Compactor(store.database, min_chunks=8, interval_s=0.0)
    run_id = store.run_ids[0]
    # Written out of step order, as retries and concurrent writers can do.
    for i in [3, 1, 0, 2, 9, 8, 7, 6, 5, 4]:
        steps = np.arange(i * 10, i * 10 + 10, dtype=np.int64)
        message = IngestMessage(
            run_id,
            store.experiment_id,
            f"b{i}",
            {"loss": Points(steps, steps, (steps * 0.5).astype(np.float64))},
            0,
        )
        outcomes = await write_messages(store.database, [message])
        compactor.note_write([(message, outcomes[0])])
    assert await chunk_sizes(store) == [10] * 10
    async with store.database.transaction(write=False) as session:
        summary_before = await session.get(MetricSummary, (run_id, "loss"))
    assert await compactor.compact_due() == 10
    assert await chunk_sizes(store) == [100]
    async with store.database.transaction(write=False) as session:
        points = await service.read_series(session, run_id, "loss")
        summary_after = await session.get(MetricSummary, (run_id, "loss"))
        total = await session.scalar(select(func.sum(MetricChunk.point_count)))
    assert points.steps.tolist() == list(range(100))
    assert points.values.tolist() == [s * 0.5 for s in range(100)]
    assert total == 100
    assert summary_before is not None
    assert summary_after is not None
    assert summary_after.count == summary_before.count == 100


async def test_series_with_few_small_chunks_are_left_alone(store: Store) -> None:
    compactor = Compactor(store.database, min_chunks=8, interval_s=0.0)
    steps = np.arange(5, dtype=np.int64)
    message = IngestMessage(
        store.run_ids[0],
        store.experiment_id,
        None,
        {"x": Points(steps, steps, steps.astype(np.float64))},
        0,
    )
    for _ in range(3):
        compactor.note_write([(message, (await write_messages(store.database, [message]))[0])])
    assert await compactor.compact_due() == 0
    assert await chunk_sizes(store) == [5, 5, 5]
