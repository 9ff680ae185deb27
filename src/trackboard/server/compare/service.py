"""A compare chart's data in one read: each run's series of one key, downsampled, as lines
or reduced per group to a mean with min-max and ±1 std bands on a common x grid."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.compare.bands import XY, Band, band_of, common_grid, shape
from trackboard.server.compare.schemas import CompareSeriesQuery
from trackboard.server.limits import check_key
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.points import Points
from trackboard.server.runs import service as runs


@dataclass(frozen=True)
class RunSeries:
    run_id: str
    points: Points


@dataclass(frozen=True)
class GroupResult:
    name: str
    run_count: int
    band: Band


@dataclass(frozen=True)
class Comparison:
    lines: list[RunSeries]
    groups: list[GroupResult]


async def compare_series(session: AsyncSession, query: CompareSeriesQuery) -> Comparison:
    """The chart of `query.key` over `query.run_ids` (a run that does not exist is
    `NotFound`). Runs that do not log the key are left out of lines and groups alike."""
    check_key("metric", query.key)
    start_times: dict[str, int] = {}
    for run_id in dict.fromkeys(query.run_ids):
        run = await runs.get_run(session, run_id)
        start_times[run_id] = run.start_time
    series: dict[str, Points] = {}
    for run_id in start_times:
        page = await metrics.read_history(
            session,
            run_id,
            query.key,
            start_step=query.start_step,
            end_step=query.end_step,
            max_points=query.max_points,
        )
        if len(page.points):
            series[run_id] = page.points
    lines = (
        [RunSeries(run_id, points) for run_id, points in series.items()]
        if query.lines or query.groups is None
        else []
    )
    groups = []
    for group in query.groups or []:
        members = [
            shape(series[r], query.x, start_times[r], query.smoothing, query.log)
            for r in dict.fromkeys(group.run_ids)
            if r in series
        ]
        groups.append(GroupResult(group.name, len(members), _band(members, query.max_points)))
    return Comparison(lines, groups)


def _band(members: list[XY], max_points: int) -> Band:
    return band_of(members, common_grid(members, max_points))
