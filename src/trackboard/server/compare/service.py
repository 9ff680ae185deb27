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

GROUP_OVERVIEW_FACTOR = 8


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
    run_ids = list(dict.fromkeys(query.run_ids))
    start_times = {r.id: r.start_time for r in (await runs.get_runs(session, run_ids)).values()}
    # Bands only: each member from its chunks' overviews (every 64 points' extremes) once
    # it has 8 stored points per output point, which costs a tenth of decoding them all.
    # Lines are read as the history route reads them.
    factor = GROUP_OVERVIEW_FACTOR if query.groups is not None and not query.lines else None
    series = await metrics.read_downsampled(
        session,
        run_ids,
        query.key,
        query.max_points,
        query.start_step,
        query.end_step,
        **({} if factor is None else {"overview_factor": factor}),
    )
    lines = (
        [RunSeries(run_id, series[run_id]) for run_id in run_ids if run_id in series]
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
