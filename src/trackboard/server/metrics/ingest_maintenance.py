"""Periodic upkeep beside the ingest loop: forget old batch ids, and find fragmented
series that compaction has not heard of (written before this process started).

Batch ids make a retried batch a no-op, but only while they are kept. A retry comes from a
client whose acknowledgement was lost (crash, network) and is replayed from its spool,
normally within minutes; `trackboard sync` can replay a spool much later. Ids older than
the retention (30 days by default) are deleted: a replay older than that could store a
batch twice, which the closing note of docs/ingestion.md states as the limit.
"""

import logging
import time

from trackboard.server.backends.database import Database
from trackboard.server.metrics import repository
from trackboard.server.metrics.ingest_compaction import Compactor

log = logging.getLogger(__name__)

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
