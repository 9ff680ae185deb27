"""HTTP route of /api/v1/experiments/{id}/runs/groups: run counts per value of a column."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from trackboard.server.json_types import ExperimentIdPath
from trackboard.server.search import service
from trackboard.server.search.schemas import RunGroup, RunGroups
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/experiments", tags=["search"])

MAX_GROUPS = 1000


@router.get("/{experiment_id}/runs/groups", response_model=RunGroups)
async def group_runs(
    experiment_id: ExperimentIdPath,
    session: ReadSession,
    by: Annotated[str, Query(min_length=1, max_length=500)],
    filter: Annotated[str | None, Query(max_length=10_000)] = None,
    lifecycle: Literal["active", "deleted", "all"] = "active",
) -> RunGroups:
    """The runs matching `filter` (as in run search) counted per value of `by`
    (`params.x`, `tags.x` or an attribute), largest groups first, at most 1,000."""
    groups = await service.group_runs(
        session,
        experiment_id=experiment_id,
        by=by,
        filter_text=filter,
        lifecycle=lifecycle,
        limit=MAX_GROUPS + 1,
    )
    return RunGroups(
        by=by,
        groups=[RunGroup(value=g.value, count=g.count) for g in groups[:MAX_GROUPS]],
        truncated=len(groups) > MAX_GROUPS,
    )
