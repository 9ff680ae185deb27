"""Storing metric batches (all or nothing, once per batch id) and reading series back."""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.clock import now_ms
from trackboard.server.metrics import repository
from trackboard.server.metrics.batch import ParsedBatch
from trackboard.server.metrics.chunk_codec import Points, decode_chunk, encode_chunk
from trackboard.server.metrics.downsample import downsample
from trackboard.server.metrics.schemas import MetricSummaryRead
from trackboard.server.models import MetricSummary

# Big enough to amortise a row's overhead, small enough that a zoomed read decodes little.
MAX_CHUNK_POINTS = 4096
HISTORY_PAGE_POINTS = 100_000


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


async def store_batch(
    session: AsyncSession, run_id: str, experiment_id: int, batch: ParsedBatch
) -> bool:
    """Write one batch in the caller's transaction; False if its id was stored before."""
    if batch.batch_id is not None and not await repository.insert_applied_batch(
        session, run_id, batch.batch_id, now_ms()
    ):
        return False
    chunks: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for key, points in batch.series.items():
        if len(points):
            chunks.extend(chunk_rows(run_id, key, points))
            summaries.append(summary_row(run_id, experiment_id, key, points))
    await repository.insert_metric_chunks(session, chunks)
    await repository.upsert_metric_summaries(session, summaries)
    return True


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
) -> Points:
    """All points of one key in step order, limited to [start_step, end_step]."""
    rows = await repository.select_chunks(session, run_id, key, start_step, end_step)
    points = Points.concat([decode_chunk(row[0]) for row in rows]).sorted_by_step()
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
    points = await read_series(session, run_id, key, start_step, end_step)
    if max_points is not None:
        return HistoryPage(downsample(points, max_points), None)
    end = offset + HISTORY_PAGE_POINTS
    next_offset = end if end < len(points) else None
    return HistoryPage(points.take(slice(offset, end)), next_offset)


def to_summary_read(summary: MetricSummary) -> MetricSummaryRead:
    return MetricSummaryRead(
        value=math.nan if summary.last_value is None else summary.last_value,
        step=summary.last_step,
        timestamp=summary.last_timestamp,
        min=summary.min_value,
        max=summary.max_value,
        count=summary.count,
    )


async def get_summaries(
    session: AsyncSession, run_ids: Sequence[str]
) -> dict[str, dict[str, MetricSummaryRead]]:
    by_run: dict[str, dict[str, MetricSummaryRead]] = defaultdict(dict)
    for summary in await repository.select_summaries(session, run_ids):
        by_run[summary.run_id][summary.key] = to_summary_read(summary)
    return by_run
