"""Storing metric batches (all or nothing, once per batch id) and reading series back."""

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.metrics import repository, writer
from trackboard.server.metrics.batch import ParsedBatch
from trackboard.server.metrics.chunk_codec import Points, decode_chunk
from trackboard.server.metrics.downsample import downsample
from trackboard.server.metrics.ingest_message import IngestMessage
from trackboard.server.metrics.schemas import SummaryView
from trackboard.server.metrics.values import render_value

HISTORY_PAGE_POINTS = 100_000
# A downsampled read uses chunk overviews from this many stored points per output point.
OVERVIEW_FACTOR = 100


async def store_batch(
    session: AsyncSession, run_id: str, experiment_id: int, batch: ParsedBatch
) -> bool:
    """Write one batch in the caller's transaction; False if its id was stored before."""
    message = IngestMessage(run_id, experiment_id, batch.batch_id, batch.series, time.time_ns())
    (stored,) = await writer.apply_messages(session, [message])
    return stored


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
    points = Points.concat([decode_chunk(blob) for blob in rows]).sorted_by_step()
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
