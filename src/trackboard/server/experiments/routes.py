"""HTTP routes of /api/v1/experiments."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response, status

from trackboard.server.degraded import cached_response
from trackboard.server.experiments import service
from trackboard.server.experiments.schemas import (
    ExperimentCreate,
    ExperimentPage,
    ExperimentRead,
    ExperimentUpdate,
    LifecycleFilter,
)
from trackboard.server.gateway.dependencies import ReadCache, TargetProject, VisibleProjects
from trackboard.server.json_types import ExperimentIdPath
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


# The seed's TTLs; writes invalidate sooner (see backends/cache_aside.py).
LIST_TTL_S = 60.0
DETAIL_TTL_S = 300.0


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_experiment(
    body: ExperimentCreate, session: WriteSession, project_id: TargetProject
) -> ExperimentRead:
    experiment = await service.create_experiment(
        session, body.name, body.tags, project_id=project_id
    )
    return service.to_read(experiment)


@router.get("", response_model=ExperimentPage)
async def list_experiments(
    session: ReadSession,
    cache: ReadCache,
    project_ids: VisibleProjects,
    name: Annotated[str | None, Query(max_length=500)] = None,
    lifecycle_stage: LifecycleFilter = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: str | None = None,
) -> Response:
    position = decode_page_token(page_token)
    after_id = token_int(position, "after_id") if "after_id" in position else None

    async def compute() -> bytes:
        experiments = await service.list_experiments(
            session,
            name_contains=name,
            lifecycle=lifecycle_stage,
            after_id=after_id,
            limit=limit + 1,
            project_ids=project_ids,
        )
        has_more = len(experiments) > limit
        experiments = experiments[:limit]
        next_token = encode_page_token({"after_id": experiments[-1].id}) if has_more else None
        page = ExperimentPage(
            experiments=await service.list_items(session, experiments), next_page_token=next_token
        )
        return page.model_dump_json().encode()

    visible = "all" if project_ids is None else ",".join(map(str, sorted(project_ids)))
    query = orjson.dumps([visible, name, lifecycle_stage, limit, after_id]).decode()
    cached = await cache.get_or_compute(
        "experiment_list", query, LIST_TTL_S, compute, scopes=["experiments"]
    )
    return cached_response(cached)


@router.get("/by-name/{name:path}")
async def get_experiment_by_name(name: str, session: ReadSession) -> ExperimentRead:
    return service.to_read(await service.get_experiment_by_name(session, name))


@router.get("/{experiment_id}", response_model=ExperimentRead)
async def get_experiment(
    experiment_id: ExperimentIdPath, session: ReadSession, cache: ReadCache
) -> Response:
    async def compute() -> bytes:
        experiment = await service.get_experiment(session, experiment_id)
        return service.to_read(experiment).model_dump_json().encode()

    cached = await cache.get_or_compute(
        "experiment",
        str(experiment_id),
        DETAIL_TTL_S,
        compute,
        scopes=[f"experiment:{experiment_id}"],
    )
    return cached_response(cached)


@router.patch("/{experiment_id}")
async def update_experiment(
    experiment_id: ExperimentIdPath, body: ExperimentUpdate, session: WriteSession
) -> ExperimentRead:
    experiment = await service.update_experiment(session, experiment_id, body.name, body.tags)
    return service.to_read(experiment)


@router.delete("/{experiment_id}")
async def delete_experiment(
    experiment_id: ExperimentIdPath, session: WriteSession
) -> ExperimentRead:
    return service.to_read(await service.delete_experiment(session, experiment_id))


@router.post("/{experiment_id}/restore")
async def restore_experiment(
    experiment_id: ExperimentIdPath, session: WriteSession
) -> ExperimentRead:
    return service.to_read(await service.restore_experiment(session, experiment_id))
