"""Thinning old metric series: a series of a run that is not running, whose newest point is
older than a cutoff, is replaced by its downsample of at most `max_points` points, which keeps
each bucket's first, last, minimum and maximum point and its first NaN (`metrics.downsample`).

The result is stored as ordinary chunks, so the history API reads it like any series; the
run's summary (latest, min, max, count logged) does not change. One series is one
transaction, decoded a million points at a time (`metrics.service.downsample_stored_series`);
a thinned series holds at most `max_points` (past `max_points / 5` million points, 5 points
per million), so a second pass skips it.
"""

from dataclasses import dataclass

from trackboard.server.backends.database import Database
from trackboard.server.metrics import service as metrics
from trackboard.server.retention import repository
from trackboard.server.retention.purge import Progress
from trackboard.server.retention.repository import Scope

SERIES_BATCH = 100


@dataclass
class ThinningReport:
    series: int = 0
    points_before: int = 0
    points_after: int = 0


async def downsample_old_series(
    database: Database,
    cutoff_ms: int,
    max_points: int,
    scope: Scope = Scope(),
    *,
    batch: int = SERIES_BATCH,
    on_progress: Progress | None = None,
) -> ThinningReport:
    """Thin every series within `scope` whose newest point is older than `cutoff_ms`."""
    report = ThinningReport()
    after: tuple[str, str] | None = None
    while True:
        async with database.transaction(write=False) as session:
            rows = await repository.select_thinnable_series(
                session, cutoff_ms, scope, max_points, after, batch
            )
        if not rows:
            return report
        for run_id, key, _ in rows:
            async with database.transaction() as session:
                before, kept = await metrics.downsample_stored_series(
                    session, run_id, key, max_points
                )
            if kept < before:
                report.series += 1
                report.points_before += before
                report.points_after += kept
        after = (rows[-1][0], rows[-1][1])
        if on_progress is not None:
            on_progress(len(rows))
