"""The loop around the writer: take messages off the queue in batches (by count, points and
time), write them, and only then ack; dead-letter what can never be written.

Acks follow the commit, so a crash between the two redelivers messages that the writer then
finds already applied (at-least-once delivery, exactly-once effect). A transient database
error keeps the batch unacked and retries it with backoff: while the database is away the
broker holds the messages and the API keeps accepting until the queue's bound.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trackboard.server.backends.database import Database
from trackboard.server.backends.queue import Delivery, QueueUnavailableError
from trackboard.server.metrics.ingest.message import IngestMessage, MessageQueue
from trackboard.server.metrics.ingest.stored_events import ExperimentProjects
from trackboard.server.metrics.ingest.upkeep import BatchIdPruner, Compactor
from trackboard.server.metrics.ingest.writer import Outcome, write_messages
from trackboard.server.observability.prometheus import Instruments

log = logging.getLogger(__name__)

Written = Callable[[Sequence[tuple[IngestMessage, Outcome]]], None]


@dataclass(frozen=True)
class BatchLimits:
    max_messages: int = 200
    max_points: int = 500_000
    # How long to keep gathering after the first message; 0 = take what is ready now
    # (group commit: whatever arrived while the previous write ran).
    linger_s: float = 0.05
    idle_poll_s: float = 0.5


class IngestConsumer:
    def __init__(
        self,
        queue: MessageQueue,
        database: Database,
        instruments: Instruments,
        limits: BatchLimits,
        on_written: Written | None = None,
        compactor: Compactor | None = None,
        pruner: BatchIdPruner | None = None,
    ) -> None:
        self.queue = queue
        self.database = database
        self.instruments = instruments
        self.limits = limits
        self.on_written = on_written
        self.compactor = compactor
        self.pruner = pruner
        self.projects = ExperimentProjects()

    async def run(self) -> None:
        """Consume until cancelled; cancelling leaves the batch in hand unacked."""
        while True:
            try:
                await self.run_once()
            except QueueUnavailableError as error:
                # The broker is away: what this consumer holds unacked it delivers again.
                log.warning("ingest queue unavailable, retrying in 1 s: %s", error)
                await asyncio.sleep(1.0)

    async def run_once(self) -> int:
        """Take one write batch off the queue and handle it; returns how many messages."""
        batch = await self.collect()
        if batch:
            await self.handle(batch)
        if self.compactor is not None:
            merged = await self.compactor.compact_due()
            if merged:
                self.instruments.ingest_chunks_compacted.inc(merged)
        if self.pruner is not None:
            await self.pruner.prune_due()
        return len(batch)

    async def collect(self) -> list[Delivery[IngestMessage]]:
        limits = self.limits
        batch: list[Delivery[IngestMessage]] = []
        points = 0
        deliveries = await self.queue.receive(limits.max_messages, limits.idle_poll_s)
        deadline = time.monotonic() + limits.linger_s
        while deliveries:
            batch.extend(deliveries)
            points += sum(delivery.body.point_count for delivery in deliveries)
            remaining = deadline - time.monotonic()
            room = limits.max_messages - len(batch)
            if room <= 0 or points >= limits.max_points or remaining <= 0:
                break
            deliveries = await self.queue.receive(room, remaining)
        return batch

    async def dead_letter(self, delivery: Delivery[IngestMessage], reason: str) -> None:
        log.error("dead-lettering a metric message: %s", reason)
        await self.queue.dead_letter(delivery, reason)
        self.instruments.ingest_dead_letters.inc()

    async def write(self, messages: Sequence[IngestMessage]) -> list[Outcome]:
        """Write until it works: transient errors are retried with capped backoff."""
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                outcomes = await write_messages(self.database, messages, self.projects)
            except Exception as error:
                self.instruments.ingest_write_retries.inc()
                log.warning("ingest write failed, retrying in %.1f s: %r", delay, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.instruments.ingest_write_latency.observe(time.perf_counter() - started)
            return outcomes

    async def handle(self, batch: Sequence[Delivery[IngestMessage]]) -> None:
        messages = [delivery.body for delivery in batch]
        outcomes = await self.write(messages)
        committed_ns = time.time_ns()
        acked: list[Delivery[IngestMessage]] = []
        for delivery, message, outcome in zip(batch, messages, outcomes, strict=True):
            if outcome.error is not None:
                await self.dead_letter(delivery, outcome.error)
                continue
            acked.append(delivery)
            if outcome.stored:
                freshness = (committed_ns - message.accepted_at_ns) / 1e9
                self.instruments.ingest_freshness.observe(max(freshness, 0.0))
            else:
                self.instruments.ingest_duplicates.inc()
        await self.queue.ack(acked)
        self.instruments.ingest_write_messages.observe(len(messages))
        self.instruments.ingest_write_points.observe(sum(m.point_count for m in messages))
        results = list(zip(messages, outcomes, strict=True))
        if self.on_written is not None:
            self.on_written(results)
        if self.compactor is not None:
            self.compactor.note_write(results)
