"""HTTP routes of /api/v1/experiments."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from trackboard.server.experiments import service
from trackboard.server.experiments.schemas import (
    ExperimentCreate,
    ExperimentPage,
    ExperimentRead,
    ExperimentUpdate,
    LifecycleFilter,
)
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_experiment(body: ExperimentCreate, session: WriteSession) -> ExperimentRead:
    experiment = await service.create_experiment(session, body.name, body.tags)
    return service.to_read(experiment)


@router.get("")
async def list_experiments(
    session: ReadSession,
    name: Annotated[str | None, Query(max_length=500)] = None,
    lifecycle_stage: LifecycleFilter = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: str | None = None,
) -> ExperimentPage:
    position = decode_page_token(page_token)
    after_id = token_int(position, "after_id") if "after_id" in position else None
    experiments = await service.list_experiments(
        session,
        name_contains=name,
        lifecycle=lifecycle_stage,
        after_id=after_id,
        limit=limit + 1,
    )
    has_more = len(experiments) > limit
    experiments = experiments[:limit]
    next_token = encode_page_token({"after_id": experiments[-1].id}) if has_more else None
    return ExperimentPage(
        experiments=[service.to_read(e) for e in experiments], next_page_token=next_token
    )


@router.get("/by-name/{name:path}")
async def get_experiment_by_name(name: str, session: ReadSession) -> ExperimentRead:
    return service.to_read(await service.get_experiment_by_name(session, name))


@router.get("/{experiment_id}")
async def get_experiment(experiment_id: int, session: ReadSession) -> ExperimentRead:
    return service.to_read(await service.get_experiment(session, experiment_id))


@router.patch("/{experiment_id}")
async def update_experiment(
    experiment_id: int, body: ExperimentUpdate, session: WriteSession
) -> ExperimentRead:
    experiment = await service.update_experiment(session, experiment_id, body.name, body.tags)
    return service.to_read(experiment)


@router.delete("/{experiment_id}")
async def delete_experiment(experiment_id: int, session: WriteSession) -> ExperimentRead:
    return service.to_read(await service.delete_experiment(session, experiment_id))


@router.post("/{experiment_id}/restore")
async def restore_experiment(experiment_id: int, session: WriteSession) -> ExperimentRead:
    return service.to_read(await service.restore_experiment(session, experiment_id))
