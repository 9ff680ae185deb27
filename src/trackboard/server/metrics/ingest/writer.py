"""Turn metric batches into rows: many batches merged into one write, once per batch id.

This is the transport-free handler of the ingest path: it knows messages as decoded
`IngestMessage`s and the database as a session or a `Database`, never the queue. Every
stored point comes through here, from the ingest loop (`ingest.consumer`), in the worker or,
in embedded mode, in the API process.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import COMMIT_POSITION, Database
from trackboard.server.clock import now_ms
from trackboard.server.metrics import repository
from trackboard.server.metrics.chunk_codec import encode_chunk
from trackboard.server.metrics.downsample import overview
from trackboard.server.metrics.ingest.message import IngestMessage, PoisonMessageError
from trackboard.server.metrics.ingest.stored_events import ExperimentProjects, record_stored
from trackboard.server.metrics.points import Points

log = logging.getLogger(__name__)

# Big enough to amortise a row's overhead, small enough that a zoomed read decodes little.
MAX_CHUNK_POINTS = 4096


@dataclass(frozen=True)
class Outcome:
    """What became of one message: stored, a repeat of a stored batch id, or refused."""

    stored: bool
    error: str | None = None
    # With replicas: where the write's commit ended in the WAL (read-your-writes).
    position: int | None = None


def chunk_rows(run_id: str, key: str, points: Points) -> list[dict[str, Any]]:
    rows = []
    for start in range(0, len(points), MAX_CHUNK_POINTS):
        part = points.take(slice(start, start + MAX_CHUNK_POINTS))
        rows.append(
            {
                "run_id": run_id,
                "key": key,
                "min_step": int(part.steps.min()),
                "max_step": int(part.steps.max()),
                "point_count": len(part),
                "data": encode_chunk(part),
                "overview": encode_chunk(overview(part)),
            }
        )
    return rows


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


def summary_row(run_id: str, experiment_id: int, key: str, points: Points) -> dict[str, Any]:
    """A batch's summary of one key: its latest point (by step, then timestamp), min, max."""
    latest = int(np.lexsort((points.timestamps, points.steps))[-1])
    finite = points.values[~np.isnan(points.values)]
    return {
        "run_id": run_id,
        "key": key,
        "experiment_id": experiment_id,
        "last_value": _finite_or_none(float(points.values[latest])),
        "last_step": int(points.steps[latest]),
        "last_timestamp": int(points.timestamps[latest]),
        "min_value": float(finite.min()) if len(finite) else None,
        "max_value": float(finite.max()) if len(finite) else None,
        "count": len(points),
    }


def is_permanent(error: BaseException) -> bool:
    """Errors that the same data will raise again (bad rows), unlike a lost connection."""
    permanent = (
        PoisonMessageError,
        IntegrityError,
        DataError,
        asyncpg.IntegrityConstraintViolationError,
        asyncpg.DataError,
    )
    return isinstance(error, permanent)


def first_of_each_batch_id(messages: Sequence[IngestMessage]) -> list[bool]:
    """Within one write, a batch id seen twice (a client retry) counts once."""
    seen: set[tuple[str, str]] = set()
    first = []
    for message in messages:
        if message.batch_id is None:
            first.append(True)
            continue
        ident = (message.run_id, message.batch_id)
        first.append(ident not in seen)
        seen.add(ident)
    return first


def merge_rows(
    messages: Sequence[IngestMessage],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Chunks and summaries of many messages, one summary per (run, key).

    PostgreSQL's ON CONFLICT DO UPDATE may touch a row only once per statement, and
    bigger chunks store smaller, so points of one (run, key) are concatenated first.
    Rows come sorted by (run, key) so that concurrent writers lock summaries in one order.
    """
    parts: dict[tuple[str, str], list[Points]] = defaultdict(list)
    experiments: dict[str, int] = {}
    for message in messages:
        experiments[message.run_id] = message.experiment_id
        for key, points in message.series.items():
            if len(points):
                parts[(message.run_id, key)].append(points)
    chunks: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for run_id, key in sorted(parts):
        points = Points.concat(parts[(run_id, key)]).sorted_by_step()
        chunks.extend(chunk_rows(run_id, key, points))
        summaries.append(summary_row(run_id, experiments[run_id], key, points))
    return chunks, summaries


async def apply_messages(
    session: AsyncSession,
    messages: Sequence[IngestMessage],
    projects: ExperimentProjects | None = None,
) -> list[bool]:
    """Write messages in the caller's transaction; per message, False if already stored.

    The batch ids go in first with ON CONFLICT DO NOTHING: a second writer holding the
    same id waits for the first one's commit and then finds it taken, so two workers
    given the same redelivered batch store it once without an error.
    """
    first = first_of_each_batch_id(messages)
    ids = sorted(
        {(m.run_id, m.batch_id) for m, f in zip(messages, first, strict=True) if f and m.batch_id}
    )
    new_ids = await repository.insert_applied_batches(session, ids, now_ms()) if ids else set()
    stored = [
        f and (m.batch_id is None or (m.run_id, m.batch_id) in new_ids)
        for m, f in zip(messages, first, strict=True)
    ]
    fresh = [m for m, s in zip(messages, stored, strict=True) if s]
    chunks, summaries = merge_rows(fresh)
    await repository.copy_metric_chunks(session, chunks)
    await repository.upsert_metric_summaries(session, summaries)
    # Sent after the commit: live views and consumers never hear of an unstored point.
    await record_stored(session, fresh, projects)
    return stored


async def write_messages(
    database: Database,
    messages: Sequence[IngestMessage],
    projects: ExperimentProjects | None = None,
) -> list[Outcome]:
    """Apply messages in one transaction; if their data is refused, one by one to find which.
    `projects` keeps experiments' projects from one write to the next (the ingest loop's).

    Transient errors (connection lost, deadlock) propagate: the caller retries the same
    messages later, which is safe because applying is idempotent.
    """
    try:
        async with database.transaction() as session:
            stored = await apply_messages(session, messages, projects)
        position = session.info.get(COMMIT_POSITION)
        return [Outcome(s, position=position) for s in stored]
    except Exception as error:
        if not is_permanent(error):
            raise
        if len(messages) == 1:
            return [Outcome(False, f"{type(error).__name__}: {error}")]
        log.warning("a write batch was refused (%s); writing its messages one by one", error)
    outcomes = []
    for message in messages:
        outcomes.extend(await write_messages(database, [message], projects))
    return outcomes
