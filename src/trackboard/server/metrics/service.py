"""Accepting metric batches (all or nothing, once per batch id) and reading series back.

`accept_batch` is the one entry for every door that logs metrics (v1's batch route, MLflow's
log-metric and log-batch): back-pressure, the durability of a 2xx, batch-id dedupe, the
`points_ingested` count, and, through the ingest loop, live events and compaction notes.
"""

import asyncio
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import Database, is_unreachable
from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter, Unavailable
from trackboard.server.metrics import repository
from trackboard.server.metrics.chunk_codec import decode_chunk
from trackboard.server.metrics.downsample import PICKS_PER_BUCKET, downsample
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.metrics.ingest.writer import chunk_rows
from trackboard.server.metrics.points import Points, Series
from trackboard.server.metrics.schemas import SummaryView
from trackboard.server.metrics.values import render_value
from trackboard.server.models import Run
from trackboard.server.runs import service as runs

# A run read this recently is not read again (its changes in this process drop it sooner,
# see `ingest.run_cache`); one read within the grace period still takes points while the
# database is unreachable (the writer stores them when it is back).
RUN_CHECK_TTL_S = 1.0
# A run in use is read again in the background once its entry is this old (the loop looks
# every `ingest.publish.RUN_REFRESH_S`): a write then finds it fresh and does not wait.
RUN_REFRESH_AFTER_S = 0.5
RUN_OUTAGE_GRACE_S = 3600.0
DB_LOOKUP_TIMEOUT_S = 2.0
HISTORY_PAGE_POINTS = 100_000
# A downsampled read uses chunk overviews from this many stored points per output point.
OVERVIEW_FACTOR = 100
# A batch-status long-poll checks after 50 ms, then at doubling intervals up to 0.5 s.
BATCH_POLL_FIRST_S = 0.05
BATCH_POLL_MAX_S = 0.5


async def find_run(ingestor: Ingestor, database: Database, run_id: str) -> Run:
    """The run a batch is for, whatever its lifecycle (`NotFound` if there is none): as read
    within `RUN_CHECK_TTL_S` and unchanged since, else read now — or, while the database is
    unreachable, as it was last read, so that points queue up instead of being refused.
    Concurrent calls for a run share one read (many small calls expire together)."""
    cache = ingestor.runs
    cached = cache.seen(run_id)
    if cached is not None and time.monotonic() - cached[0] < RUN_CHECK_TTL_S:
        run = cached[1]
    else:
        run = await cache.read_once(run_id, lambda: _read_run(ingestor, database, run_id))
    cache.used(run_id, time.monotonic())
    return run


async def refresh_runs_in_use(ingestor: Ingestor, database: Database) -> None:
    """Read again, in one query, the runs that writes asked for lately and whose entry is
    older than `RUN_REFRESH_AFTER_S`, so that their next write finds them fresh instead of
    waiting for a read. A run not found keeps its entry until it expires; the write after
    that reads it (and gets `NotFound`)."""
    cache = ingestor.runs
    now = time.monotonic()
    due = cache.in_use_and_due(now, RUN_REFRESH_AFTER_S)
    if not due:
        return
    generation = cache.generation
    async with asyncio.timeout(DB_LOOKUP_TIMEOUT_S):
        async with database.transaction(write=False) as session:
            found = await runs.find_runs(session, due)
    for run in found:
        cache.remember(run, now, generation)


async def _read_run(ingestor: Ingestor, database: Database, run_id: str) -> Run:
    cache = ingestor.runs
    cached = cache.seen(run_id)
    now = time.monotonic()
    generation = cache.generation
    try:
        async with asyncio.timeout(DB_LOOKUP_TIMEOUT_S):
            async with database.transaction(write=False) as session:
                run = await runs.get_run(session, run_id)
    except Exception as error:
        if not is_unreachable(error):
            raise
        if cached is not None and now - cached[0] < RUN_OUTAGE_GRACE_S:
            return cached[1]
        raise Unavailable("the database is unreachable", ingestor.retry_after_s) from None
    cache.remember(run, now, generation)
    return run


async def find_active_run(ingestor: Ingestor, database: Database, run_id: str) -> Run:
    """`find_run`, refusing a run that is not active (deleted)."""
    run = await find_run(ingestor, database, run_id)
    if run.lifecycle_stage != "active":
        raise InvalidParameter(f"run {run_id!r} is deleted; restore it before writing to it")
    return run


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicate: bool
    # True: committed and readable (HTTP 200); False: durably queued (HTTP 202).
    stored: bool
    # When queued: the batch's id, for `batch_status` to tell when it is committed.
    pending_batch_id: str | None = None
    # When committed and replicas are configured: where the commit ended in the WAL.
    position: int | None = None


async def accept_batch(
    ingestor: Ingestor, run: Run, series: Series, batch_id: str | None = None
) -> IngestResult:
    """Take one batch of points for an active run: stored (embedded) or durably queued
    (distributed); `Unavailable` (503 + Retry-After) when the queue refuses it. A batch id
    seen before for the run (within its retention) stores nothing.

    Call it outside any open write transaction: in embedded mode it waits for the ingest
    writer's commit, which a held SQLite write lock would block.
    """
    accepted_at_ns = time.time_ns()
    if ingestor.waits_for_commit:
        message = IngestMessage(
            run.id, run.experiment_id, batch_id, series, accepted_at_ns, ingestor.new_token()
        )
        outcome = await ingestor.publish_and_wait(message)
        if outcome.error is not None:
            raise InvalidParameter(f"the batch could not be stored: {outcome.error}")
        accepted = message.point_count if outcome.stored else 0
        ingestor.instruments.points_ingested.inc(accepted)
        return IngestResult(accepted, not outcome.stored, True, position=outcome.position)
    # A redelivered message must be recognisable even when the client sent no id.
    pending_id = batch_id or uuid.uuid4().hex
    message = IngestMessage(run.id, run.experiment_id, pending_id, series, accepted_at_ns)
    await ingestor.publish(message)
    ingestor.instruments.points_ingested.inc(message.point_count)
    return IngestResult(message.point_count, False, False, pending_id)


async def record_batch_id(session: AsyncSession, run_id: str, batch_id: str) -> bool:
    """Record one id among the run's applied batch ids in the caller's transaction; False
    if the run has it already (a repeat). The run's other writes (`replay.writes`) use it
    too, so that one mechanism makes every retried write of a run harmless."""
    return await repository.insert_applied_batch(session, run_id, batch_id, now_ms())


@dataclass(frozen=True)
class BatchStatus:
    committed: list[str]
    pending: list[str]
    # With replicas, once some are committed: a WAL position at or past their commits, so
    # the client's later reads go to a replica only once it shows them.
    position: int | None = None


async def batch_status(
    database: Database, run_id: str, batch_ids: Sequence[str], wait_s: float = 0.0
) -> BatchStatus:
    """Which of a run's batches are committed, hence readable, waiting up to `wait_s` for all
    of them (a long-poll that checks `applied_batches` at growing intervals). Read on the
    primary: a replica may not show a commit yet. A batch that is never written (dead-lettered,
    or never sent) stays pending."""
    wanted = list(dict.fromkeys(batch_ids))
    deadline = time.monotonic() + wait_s
    delay = BATCH_POLL_FIRST_S
    checked_run = False
    while True:
        position = None
        async with database.transaction(write=False) as session:
            if not checked_run:
                await runs.get_run(session, run_id)
                checked_run = True
            committed = await repository.select_applied_batch_ids(session, run_id, wanted)
            if committed and database.replicas is not None:
                position = await repository.select_wal_position(session)
        pending = [b for b in wanted if b not in committed]
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            return BatchStatus([b for b in wanted if b in committed], pending, position)
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, BATCH_POLL_MAX_S)


@dataclass(frozen=True)
class HistoryPage:
    points: Points
    next_offset: int | None


async def read_series(
    session: AsyncSession,
    run_id: str,
    key: str,
    start_step: int | None = None,
    end_step: int | None = None,
    *,
    overviews: bool = False,
) -> Points:
    """All points of one key in step order, limited to [start_step, end_step].

    With `overviews`, only each chunk's per-64-point extremes: enough for a chart.
    """
    rows = await repository.select_chunks(
        session, run_id, key, start_step, end_step, overviews=overviews
    )
    return _within(rows, start_step, end_step)


def _within(blobs: Sequence[bytes], start_step: int | None, end_step: int | None) -> Points:
    """A series' chunks decoded, in step order, limited to [start_step, end_step]."""
    points = Points.concat([decode_chunk(blob) for blob in blobs]).sorted_by_step()
    lo = 0 if start_step is None else int(np.searchsorted(points.steps, start_step, "left"))
    hi = len(points) if end_step is None else int(np.searchsorted(points.steps, end_step, "right"))
    if lo > 0 or hi < len(points):
        points = points.take(slice(lo, hi))
    return points


async def read_history(
    session: AsyncSession,
    run_id: str,
    key: str,
    *,
    start_step: int | None = None,
    end_step: int | None = None,
    max_points: int | None = None,
    offset: int = 0,
) -> HistoryPage:
    if max_points is not None:
        total = await repository.count_points(session, run_id, key, start_step, end_step)
        # Read overviews when each output bucket spans several 64-point groups anyway.
        coarse = total >= OVERVIEW_FACTOR * max_points
        points = await read_series(session, run_id, key, start_step, end_step, overviews=coarse)
        return HistoryPage(downsample(points, max_points), None)
    points = await read_series(session, run_id, key, start_step, end_step)
    end = offset + HISTORY_PAGE_POINTS
    next_offset = end if end < len(points) else None
    return HistoryPage(points.take(slice(offset, end)), next_offset)


async def read_downsampled(
    session: AsyncSession,
    run_ids: Sequence[str],
    key: str,
    max_points: int,
    start_step: int | None = None,
    end_step: int | None = None,
    overview_factor: int = OVERVIEW_FACTOR,
) -> dict[str, Points]:
    """One key's series of several runs, each downsampled as `read_history(max_points=…)`
    does (from chunk overviews from `overview_factor` stored points per output point on),
    in three queries whatever the number of runs (runs without points are absent)."""
    counts = await repository.count_points_of_runs(session, run_ids, key, start_step, end_step)
    coarse = [r for r, total in counts.items() if total >= overview_factor * max_points]
    fine = [r for r in counts if r not in set(coarse)]
    blobs: dict[str, list[bytes]] = defaultdict(list)
    for ids, overviews in ((coarse, True), (fine, False)):
        if not ids:
            continue
        rows = await repository.select_chunks_of_runs(
            session, ids, key, start_step, end_step, overviews=overviews
        )
        for run_id, blob in rows:
            blobs[run_id].append(blob)
    return {
        run_id: downsample(_within(blobs[run_id], start_step, end_step), max_points)
        for run_id in counts
        if blobs[run_id]
    }


# Thinning decodes a series this many points at a time: a 10M-point series never sits
# in memory whole.
THIN_WINDOW_POINTS = 1_000_000


def _windows(sizes: Sequence[tuple[int, int]], window_points: int) -> list[list[int]]:
    """Chunk ids, in order, cut into as few runs of at most about `window_points` points
    as can be, of about equal size (so that each one's share of the output is alike)."""
    total = sum(count for _, count in sizes)
    target = total / max(1, -(-total // window_points))
    windows: list[list[int]] = [[]]
    held = 0
    for chunk_id, count in sizes:
        if held and held + count / 2 > target:
            windows.append([])
            held = 0
        windows[-1].append(chunk_id)
        held += count
    return windows


async def downsample_stored_series(
    session: AsyncSession,
    run_id: str,
    key: str,
    max_points: int,
    window_points: int = THIN_WINDOW_POINTS,
) -> tuple[int, int]:
    """Replace a stored series by its `downsample` (each bucket's first, last, min, max and
    first NaN) to about `max_points`, in the caller's transaction: (points before, after).

    Chunks are read a window of `window_points` at a time (in step order) and each window
    keeps its share of `max_points` (at least one bucket), so the series' extremes stay;
    a series of more windows than `max_points / 5` keeps 5 points a window. Chunks a
    compactor holds are skipped and stay as they are; the summary stays too, since it
    describes what was logged and its latest, min and max points are kept."""
    sizes = [
        (row[0], row[1])
        for row in await repository.select_chunk_sizes_for_update(session, run_id, key)
    ]
    total = sum(count for _, count in sizes)
    if total <= max_points:
        return total, total
    kept_total = 0
    for ids in _windows(sizes, window_points):
        blobs = await repository.select_chunk_data(session, run_id, ids)
        points = Points.concat([decode_chunk(blob) for blob in blobs]).sorted_by_step()
        share = max(PICKS_PER_BUCKET, max_points * len(points) // total)
        kept = downsample(points, share)
        await repository.delete_chunks(session, run_id, ids)
        await repository.copy_metric_chunks(session, chunk_rows(run_id, key, kept))
        kept_total += len(kept)
    return total, kept_total


def _optional_value(value: float | None) -> float | str | None:
    return None if value is None else render_value(value)


async def get_summaries(
    session: AsyncSession, run_ids: Sequence[str]
) -> dict[str, dict[str, SummaryView]]:
    """Each run's summary per key, JSON-ready (runs without metrics are absent)."""
    by_run: dict[str, dict[str, SummaryView]] = defaultdict(dict)
    rows = await repository.select_summaries(session, run_ids)
    for run_id, key, last_value, last_step, last_timestamp, low, high, count in rows:
        by_run[run_id][key] = {
            "value": render_value(math.nan if last_value is None else last_value),
            "step": last_step,
            "timestamp": last_timestamp,
            "min": _optional_value(low),
            "max": _optional_value(high),
            "count": count,
        }
    return by_run
