"""The dashboard aggregation of one experiment, computed in three grouped queries."""

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.clock import now_ms
from trackboard.server.dashboard_stats import repository
from trackboard.server.dashboard_stats.schemas import (
    BestRun,
    DayCount,
    ExperimentDashboard,
    Goal,
)
from trackboard.server.experiments import service as experiments


def day_label(day_number: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day_number)).isoformat()


async def aggregate_experiment(
    session: AsyncSession, experiment_id: int, metric: str | None, goal: Goal, days: int
) -> ExperimentDashboard:
    await experiments.get_experiment(session, experiment_id)
    now = now_ms()
    by_status = await repository.count_runs_by_status(session, experiment_id)
    best = None
    if metric:
        found = await repository.select_best_run(session, experiment_id, metric, goal == "max")
        if found is not None:
            run_id, run_name, value, step = found
            best = BestRun(run_id=run_id, run_name=run_name, value=value, step=step)
    first_day = now // repository.DAY_MS - (days - 1)
    counts = dict(
        await repository.count_runs_per_day(session, experiment_id, first_day * repository.DAY_MS)
    )
    per_day = [
        DayCount(day=day_label(day), runs=counts.get(day, 0))
        for day in range(first_day, first_day + days)
    ]
    return ExperimentDashboard(
        experiment_id=experiment_id,
        total_runs=sum(by_status.values()),
        runs_by_status=by_status,
        metric=metric,
        goal=goal,
        best=best,
        runs_per_day=per_day,
        computed_at=now,
    )
