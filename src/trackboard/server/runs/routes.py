"""HTTP routes of /api/v1/runs and run creation under an experiment."""

from fastapi import APIRouter, Response, status

from trackboard.server.degraded import cached_response
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.json_types import ExperimentIdPath
from trackboard.server.runs import service
from trackboard.server.runs.schemas import (
    AlertAccepted,
    AlertCreate,
    ParamsBody,
    ParamsRead,
    RunCreate,
    RunRead,
    RunUpdate,
    TagsBody,
    TagsRead,
)
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["runs"])

# The services record the events of each change; live updates and cache invalidation
# subscribe to them after the commit (see `events`).


@router.post("/experiments/{experiment_id}/runs", status_code=status.HTTP_201_CREATED)
async def create_run(
    experiment_id: ExperimentIdPath,
    body: RunCreate,
    session: WriteSession,
    response: Response,
) -> RunRead:
    change, created = await service.create_run(
        session,
        experiment_id,
        run_id=body.id,
        name=body.name,
        start_time=body.start_time,
        user=body.user,
        status=body.status,
        tags=body.tags,
        params=body.params,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return change.document


@router.get("/runs/{run_id}", response_model=RunRead)
async def get_run(run_id: str, session: ReadSession, cache: ReadCache) -> Response:
    async def compute() -> bytes:
        run = await service.describe_run(session, await service.get_run(session, run_id))
        return run.model_dump_json().encode()

    # Always computed (a run changes with every metric batch); the last one read stands
    # in while the database is unreachable.
    return cached_response(await cache.last_known_or_compute("run", run_id, compute))


@router.patch("/runs/{run_id}")
async def update_run(run_id: str, body: RunUpdate, session: WriteSession) -> RunRead:
    change = await service.update_run(
        session, run_id, name=body.name, status=body.status, end_time=body.end_time
    )
    return change.document


@router.delete("/runs/{run_id}")
async def delete_run(run_id: str, session: WriteSession) -> RunRead:
    return (await service.set_lifecycle(session, run_id, "deleted")).document


@router.post("/runs/{run_id}/restore")
async def restore_run(run_id: str, session: WriteSession) -> RunRead:
    return (await service.set_lifecycle(session, run_id, "active")).document


@router.post("/runs/{run_id}/params")
async def log_params(run_id: str, body: ParamsBody, session: WriteSession) -> ParamsRead:
    await service.log_params(session, run_id, body.params)
    return ParamsRead(params=await service.get_params(session, run_id))


@router.post("/runs/{run_id}/tags")
async def set_tags(run_id: str, body: TagsBody, session: WriteSession) -> TagsRead:
    await service.set_tags(session, run_id, body.tags)
    return TagsRead(tags=await service.get_tags(session, run_id))


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tag(run_id: str, key: str, session: WriteSession) -> None:
    await service.delete_tag(session, run_id, key)


@router.post("/runs/{run_id}/alerts", status_code=status.HTTP_202_ACCEPTED)
async def raise_alert(run_id: str, body: AlertCreate, session: WriteSession) -> AlertAccepted:
    """Record a `run.alert` event; notification rules with a `run.alert` trigger send it."""
    event_id = await service.raise_alert(
        session, run_id, body.title, body.text, body.level, alert_id=body.alert_id
    )
    return AlertAccepted(event_id=event_id)
