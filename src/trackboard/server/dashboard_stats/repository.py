"""SQL for the dashboard aggregation: three grouped queries over an experiment's runs."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import MetricSummary, Run

DAY_MS = 86_400_000


async def count_runs_by_status(session: AsyncSession, experiment_id: int) -> dict[str, int]:
    query = (
        select(Run.status, func.count())
        .where(Run.experiment_id == experiment_id, Run.lifecycle_stage == "active")
        .group_by(Run.status)
    )
    return {status: int(count) for status, count in (await session.execute(query)).all()}


async def select_best_run(
    session: AsyncSession, experiment_id: int, key: str, highest: bool
) -> tuple[str, str, float, int] | None:
    """The active run whose latest value of `key` is best (NaN, stored as NULL, never is)."""
    order = MetricSummary.last_value.desc() if highest else MetricSummary.last_value.asc()
    query = (
        select(Run.id, Run.name, MetricSummary.last_value, MetricSummary.last_step)
        .join(Run, Run.id == MetricSummary.run_id)
        .where(
            MetricSummary.experiment_id == experiment_id,
            MetricSummary.key == key,
            MetricSummary.last_value.is_not(None),
            Run.lifecycle_stage == "active",
        )
        .order_by(order, Run.id)
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None or row[2] is None:
        return None
    return str(row[0]), str(row[1]), float(row[2]), int(row[3])


async def count_runs_per_day(
    session: AsyncSession, experiment_id: int, since_ms: int
) -> list[tuple[int, int]]:
    """(day number since the epoch, runs started that day), oldest first."""
    # `//` is integer (floor) division on both dialects.
    day = (Run.start_time // DAY_MS).label("day")
    query = (
        select(day, func.count())
        .where(
            Run.experiment_id == experiment_id,
            Run.lifecycle_stage == "active",
            Run.start_time >= since_ms,
        )
        .group_by(day)
        .order_by(day)
    )
    return [(int(d), int(n)) for d, n in (await session.execute(query)).all()]
