"""`metrics.stored` events: what a write transaction added to each run's series.

Recorded by the writer in the transaction that stores the points (so through the outbox in
the distributed mode), one event per run and transaction however many batches it merged:
the keys, the number of points, the latest point of each key (by step, then time; what
the run's summary calls its value) and per-key statistics for the notifier's metric
triggers (`stats`: the finite extremes with their steps, the count of NaN/inf values and
the step of the first, the latest point). The points themselves ride in `Event.local`
for the live fan-out of the writing process and are never published.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.events import Event, record
from trackboard.server.experiments import service as experiments
from trackboard.server.metrics.ingest.message import IngestMessage
from trackboard.server.metrics.points import Points, Series
from trackboard.server.metrics.values import render_value


def latest_point(points: Points) -> dict[str, Any]:
    last = int(np.lexsort((points.timestamps, points.steps))[-1])
    return {
        "step": int(points.steps[last]),
        "value": render_value(float(points.values[last])),
        "timestamp": int(points.timestamps[last]),
    }


def point_stats(points: Points) -> dict[str, Any]:
    finite = np.isfinite(points.values)
    stats: dict[str, Any] = {
        "min": None,
        "min_step": None,
        "max": None,
        "max_step": None,
        "nonfinite": int(len(points) - int(finite.sum())),
        "nonfinite_step": None,
        "latest": latest_point(points),
    }
    if finite.any():
        values = np.where(finite, points.values, np.nan)
        low, high = int(np.nanargmin(values)), int(np.nanargmax(values))
        stats.update(
            min=float(points.values[low]),
            min_step=int(points.steps[low]),
            max=float(points.values[high]),
            max_step=int(points.steps[high]),
        )
    if stats["nonfinite"]:
        stats["nonfinite_step"] = int(points.steps[~finite].min())
    return stats


def merge_series(messages: Sequence[IngestMessage]) -> Series:
    parts: dict[str, list[Points]] = defaultdict(list)
    for message in messages:
        for key, points in message.series.items():
            if len(points):
                parts[key].append(points)
    return {key: Points.concat(pieces) for key, pieces in parts.items()}


class ExperimentProjects:
    """Which project each experiment is in, as the writer looked it up: an experiment's
    project is set when it is created and never changes, and a lookup per write is two
    statements in a transaction that may carry a single point."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._projects: dict[int, int | None] = {}

    async def project_of(self, session: AsyncSession, experiment_id: int) -> int | None:
        if experiment_id in self._projects:
            return self._projects[experiment_id]
        project = await experiments.project_of(session, experiment_id)
        if len(self._projects) >= self.max_entries:
            self._projects.clear()
        self._projects[experiment_id] = project
        return project


async def record_stored(
    session: AsyncSession,
    messages: Sequence[IngestMessage],
    projects: ExperimentProjects | None = None,
) -> None:
    """Record one `metrics.stored` per run for the messages stored in this transaction."""
    by_run: dict[str, list[IngestMessage]] = defaultdict(list)
    for message in messages:
        by_run[message.run_id].append(message)
    projects = projects or ExperimentProjects()
    for run_id, stored in by_run.items():
        series = merge_series(stored)
        if not series:
            continue
        experiment_id = stored[0].experiment_id
        project_id = await projects.project_of(session, experiment_id)
        data = {
            "keys": sorted(series),
            "point_count": sum(len(points) for points in series.values()),
            "latest": {key: latest_point(points) for key, points in series.items()},
            "stats": {key: point_stats(points) for key, points in series.items()},
        }
        record(
            session,
            Event(
                "metrics.stored",
                data,
                project_id=project_id,
                experiment_id=experiment_id,
                run_id=run_id,
                local=series,
            ),
        )
