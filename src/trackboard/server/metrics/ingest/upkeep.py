"""Upkeep beside the ingest loop: compaction of small chunks, forgetting old batch ids, and
the start-up sweep for fragmented series that compaction has not heard of.

Compaction: a series written a few points at a time gets many small chunks; merge them into
large ones so storage stays near 10 bytes a point and reads decode less. The ingest loop
notes which series it just wrote small chunks for, and every few seconds compacts those that
have gathered enough. One series is one transaction: lock its small chunks (skipping any
another compactor holds), decode, re-chunk, delete, insert. Readers see the old chunks or the
new ones, never both; summaries do not change.

Batch ids make a retried batch a no-op, but only while they are kept. A retry comes from a
client whose acknowledgement was lost (crash, network) and is replayed from its spool,
normally within minutes; `trackboard sync` can replay a spool much later. Ids older than
the retention (30 days by default) are deleted: a replay older than that could store a
batch twice, which the closing note of docs/ingestion.md states as the limit.
"""

import logging
import time
from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import Database
from trackboard.server.metrics import repository
from trackboard.server.metrics.chunk_codec import decode_chunk
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.writer import Outcome, chunk_rows
from trackboard.server.metrics.points import Points

log = logging.getLogger(__name__)

SMALL_CHUNK_POINTS = 256


async def compact_series(
    session: AsyncSession, run_id: str, key: str, small_points: int = SMALL_CHUNK_POINTS
) -> int:
    """Merge the series' small chunks in the caller's transaction; returns how many."""
    rows = await repository.select_small_chunks_for_update(session, run_id, key, small_points)
    if len(rows) < 2:
        return 0
    points = Points.concat([decode_chunk(row[1]) for row in rows]).sorted_by_step()
    await repository.delete_chunks(session, run_id, [row[0] for row in rows])
    await repository.copy_metric_chunks(session, chunk_rows(run_id, key, points))
    return len(rows)


class Compactor:
    """Remembers series that got small chunks and compacts them now and then."""

    def __init__(
        self,
        database: Database,
        *,
        small_points: int = SMALL_CHUNK_POINTS,
        min_chunks: int = 8,
        interval_s: float = 5.0,
        max_series: int = 50,
    ) -> None:
        self.database = database
        self.small_points = small_points
        self.min_chunks = min_chunks
        self.interval_s = interval_s
        self.max_series = max_series
        self.small_chunks: Counter[tuple[str, str]] = Counter()
        self._last_run = time.monotonic()

    def note_write(self, results: Sequence[tuple[IngestMessage, Outcome]]) -> None:
        """Count the small chunks one write made (one per series of the merged write)."""
        written: Counter[tuple[str, str]] = Counter()
        for message, outcome in results:
            if outcome.stored:
                for key, points in message.series.items():
                    written[(message.run_id, key)] += len(points)
        for series, count in written.items():
            if 0 < count < self.small_points:
                self.small_chunks[series] += 1

    async def compact_due(self) -> int:
        """Compact the series that have gathered enough small chunks, if it is time."""
        if time.monotonic() < self._last_run + self.interval_s:
            return 0
        self._last_run = time.monotonic()
        due = [s for s, n in self.small_chunks.items() if n >= self.min_chunks]
        merged = 0
        for run_id, key in due[: self.max_series]:
            del self.small_chunks[(run_id, key)]
            try:
                async with self.database.transaction() as session:
                    merged += await compact_series(session, run_id, key, self.small_points)
            except Exception as error:
                # Compaction is an optimisation: the chunks stay as they are.
                log.warning("compacting %s/%s failed: %r", run_id, key, error)
        return merged


DAY_MS = 86_400_000


class BatchIdPruner:
    """Deletes applied batch ids older than the retention, at most once an interval."""

    def __init__(self, database: Database, *, retention_days: float, interval_s: float = 3600.0):
        self.database = database
        self.retention_ms = int(retention_days * DAY_MS)
        self.interval_s = interval_s
        self._next = time.monotonic()

    async def prune_due(self) -> int:
        """Prune if it is time; returns how many ids were deleted."""
        if time.monotonic() < self._next:
            return 0
        self._next = time.monotonic() + self.interval_s
        cutoff_ms = int(time.time() * 1000) - self.retention_ms
        try:
            async with self.database.transaction() as session:
                deleted = await repository.delete_applied_batches_before(session, cutoff_ms)
        except Exception as error:
            # Upkeep only: the ids stay until the next attempt.
            log.warning("pruning applied batch ids failed: %r", error)
            return 0
        if deleted:
            log.info("pruned %d applied batch ids older than %d ms", deleted, cutoff_ms)
        return deleted


async def sweep_fragmented_series(
    database: Database, compactor: Compactor, *, limit: int = 10_000
) -> int:
    """Hand the compactor every stored series with enough small chunks to merge; returns
    how many. Run once, beside the ingest loop (never before it: a worker must consume
    even when it starts while the database is away); a failure only logs."""
    try:
        async with database.transaction(write=False) as session:
            found = await repository.select_fragmented_series(
                session, compactor.small_points, compactor.min_chunks, limit
            )
    except Exception as error:
        log.warning("looking for fragmented series failed: %r", error)
        return 0
    for run_id, key, small_chunks in found:
        compactor.small_chunks[(run_id, key)] = max(
            compactor.small_chunks[(run_id, key)], small_chunks
        )
    log.info("found %d fragmented series to compact", len(found))
    return len(found)
