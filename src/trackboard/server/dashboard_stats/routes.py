"""GET /api/v1/experiments/{id}/dashboard: the aggregation, cached for 30 s per experiment."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from trackboard.server.dashboard_stats import service
from trackboard.server.dashboard_stats.schemas import ExperimentDashboard, Goal
from trackboard.server.degraded import cached_response
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.json_types import ExperimentIdPath
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/experiments", tags=["dashboard"])

DASHBOARD_TTL_S = 30.0


@router.get("/{experiment_id}/dashboard", response_model=ExperimentDashboard)
async def get_experiment_dashboard(
    experiment_id: ExperimentIdPath,
    session: ReadSession,
    cache: ReadCache,
    metric: Annotated[str | None, Query(max_length=250)] = None,
    goal: Goal = "max",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    """Runs by status, the best run by the latest value of `metric`, runs started per day."""

    async def compute() -> bytes:
        stats = await service.aggregate_experiment(session, experiment_id, metric, goal, days)
        return stats.model_dump_json().encode()

    cached = await cache.get_or_compute(
        "dashboard",
        f"{experiment_id}:{goal}:{days}:{metric or ''}",
        DASHBOARD_TTL_S,
        compute,
        scopes=[f"experiment:{experiment_id}"],
    )
    return cached_response(cached)
