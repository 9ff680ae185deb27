"""The ingest loop, built in one place for both composition roots (the API in embedded mode,
`trackboard worker` in distributed mode): the consumer that writes batches (recording
`metrics.stored` events, which live views subscribe to) and notes small chunks, the
compactor, the batch-id pruner, the start-up sweep and the retention job; and the API's
queue of messages, whichever the mode.
"""

import asyncio
from contextlib import suppress
from dataclasses import dataclass

from trackboard.server.backends.database import Database
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.queue import LocalQueue, RabbitQueue
from trackboard.server.config import Settings
from trackboard.server.metrics.ingest.consumer import BatchLimits, IngestConsumer, Written
from trackboard.server.metrics.ingest.message import EncodedQueue, IngestMessage, MessageQueue
from trackboard.server.metrics.ingest.upkeep import (
    BatchIdPruner,
    Compactor,
    sweep_fragmented_series,
)
from trackboard.server.observability.prometheus import Instruments
from trackboard.server.retention.job import RetentionJob


@dataclass(frozen=True)
class IngestLoop:
    consumer: IngestConsumer
    compactor: Compactor
    retention: RetentionJob | None = None

    async def run(self) -> None:
        """Consume until cancelled. The sweep for series fragmented before this process
        started runs beside the consumer, never before it: a loop that starts while the
        database is away must still take messages. So does the retention job, whose
        passes may last minutes."""
        database = self.consumer.database
        beside: list[asyncio.Task[object]] = [
            asyncio.create_task(
                sweep_fragmented_series(database, self.compactor), name="ingest-sweep"
            )
        ]
        if self.retention is not None:
            beside.append(asyncio.create_task(self.retention.run(), name="retention"))
        try:
            await self.consumer.run()
        finally:
            for task in beside:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task


async def open_ingest_queue(settings: Settings, instruments: Instruments) -> MessageQueue:
    """RabbitMQ when a broker URL is configured (messages encoded to bytes), else the
    in-process queue, which carries the messages themselves."""
    if settings.amqp_url:
        rabbit = await RabbitQueue.connect(
            settings.amqp_url,
            settings.ingest_queue_name,
            max_length=settings.ingest_max_queue_depth,
            breaker=BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s),
        )
        return EncodedQueue(rabbit, instruments)
    return LocalQueue[IngestMessage](settings.ingest_max_queue_depth)


def build_ingest_loop(
    settings: Settings,
    queue: MessageQueue,
    database: Database,
    instruments: Instruments,
    on_written: Written | None = None,
) -> IngestLoop:
    """The loop for `queue`. `on_written` answers requests waiting for their batch's commit
    (embedded mode); such a loop writes whatever is ready without lingering, and requests
    that arrive during a write share the next one (group commit)."""
    linger_s = 0.0 if on_written is not None else settings.ingest_batch_linger_s
    limits = BatchLimits(
        settings.ingest_batch_max_messages, settings.ingest_batch_max_points, linger_s
    )
    compactor = Compactor(database)
    pruner = BatchIdPruner(database, retention_days=settings.ingest_batch_id_retention_days)
    consumer = IngestConsumer(
        queue,
        database,
        instruments,
        limits,
        on_written,
        compactor=compactor,
        pruner=pruner,
    )
    return IngestLoop(consumer, compactor, RetentionJob.from_settings(settings, database))
