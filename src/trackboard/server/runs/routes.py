"""HTTP routes of /api/v1/runs and run creation under an experiment."""

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.degraded import cached_response
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.identifiers import RunId
from trackboard.server.json_types import ExperimentIdPath
from trackboard.server.replay.door import QUEUED, write_or_queue
from trackboard.server.replay.writes import (
    Applied,
    CreateRun,
    LogParams,
    PendingWrite,
    SetTags,
    UpdateRun,
)
from trackboard.server.runs import service
from trackboard.server.runs.schemas import (
    AlertAccepted,
    AlertCreate,
    ParamsBody,
    ParamsRead,
    RunBatchCreate,
    RunBatchItem,
    RunBatchRead,
    RunCreate,
    RunRead,
    RunUpdate,
    TagsBody,
    TagsRead,
)
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1", tags=["runs"])

# The services record the events of each change; live updates and cache invalidation
# subscribe to them after the commit (see `events`). Creation, params, tags and updates go
# through `replay.writes.apply_write`, the replayer's path too (see `replay.door`).


@router.post(
    "/experiments/{experiment_id}/runs",
    status_code=status.HTTP_201_CREATED,
    response_model=RunRead,
    responses=QUEUED,
)
async def create_run(
    experiment_id: ExperimentIdPath, body: RunCreate, request: Request, response: Response
) -> RunRead | JSONResponse:
    """Create a run (200 with the run if the client's `id` exists already). While the
    database is unreachable: 202, queued for replay; a client that sends its own `id` can
    use it at once, and otherwise the answer carries the id chosen for it."""
    pending = PendingWrite(
        run_id=body.id or uuid.uuid4().hex, write=CreateRun(experiment_id=experiment_id, run=body)
    )

    async def answer(_session: AsyncSession, applied: Applied) -> RunRead:
        assert applied.change is not None
        if not applied.fresh:
            response.status_code = status.HTTP_200_OK
        return applied.change.document

    return await write_or_queue(request, pending, answer)


@router.post("/experiments/{experiment_id}/runs:batch")
async def create_runs(
    experiment_id: ExperimentIdPath, body: RunBatchCreate, session: WriteSession
) -> RunBatchRead:
    """Create up to 1,000 runs with their params and tags in one transaction, each as the
    single-run route would (a client `id` that exists already is answered, not created
    again): for importers and loaders, at a fraction of the cost per run. The body must fit
    the default request limit (`TRACKBOARD_MAX_REQUEST_BYTES`, 1 MiB unless set). All or
    none: an invalid run fails the request. Not queued for replay while the database is
    unreachable (503 with `Retry-After`): the caller sends it again."""
    specs = [
        service.NewRun(run.id, run.name, run.start_time, run.user, run.status, run.tags, run.params)
        for run in body.runs
    ]
    created = await service.create_runs(session, experiment_id, specs)
    return RunBatchRead(
        runs=[RunBatchItem(id=change.run.id, created=fresh) for change, fresh in created]
    )


@router.get("/runs/{run_id}", response_model=RunRead)
async def get_run(run_id: str, session: ReadSession, cache: ReadCache) -> Response:
    async def compute() -> bytes:
        run = await service.describe_run(session, await service.get_run(session, run_id))
        return run.model_dump_json().encode()

    # Always computed (a run changes with every metric batch); the last one read stands
    # in while the database is unreachable.
    return cached_response(await cache.last_known_or_compute("run", run_id, compute))


@router.patch("/runs/{run_id}", response_model=RunRead, responses=QUEUED)
async def update_run(run_id: RunId, body: RunUpdate, request: Request) -> RunRead | JSONResponse:
    """Rename a run or move its status; 202 while the database is unreachable (replayed)."""
    pending = PendingWrite(run_id=run_id, write=UpdateRun(body=body))

    async def answer(session: AsyncSession, applied: Applied) -> RunRead:
        if applied.change is not None:
            return applied.change.document
        return await service.describe_run(session, await service.get_run(session, run_id))

    return await write_or_queue(request, pending, answer)


@router.delete("/runs/{run_id}")
async def delete_run(run_id: str, session: WriteSession) -> RunRead:
    return (await service.set_lifecycle(session, run_id, "deleted")).document


@router.post("/runs/{run_id}/restore")
async def restore_run(run_id: str, session: WriteSession) -> RunRead:
    return (await service.set_lifecycle(session, run_id, "active")).document


@router.post("/runs/{run_id}/params", response_model=ParamsRead, responses=QUEUED)
async def log_params(
    run_id: RunId, body: ParamsBody, request: Request
) -> ParamsRead | JSONResponse:
    """Add params (immutable once set); 202 while the database is unreachable (replayed)."""

    async def answer(session: AsyncSession, _applied: Applied) -> ParamsRead:
        return ParamsRead(params=await service.get_params(session, run_id))

    return await write_or_queue(
        request, PendingWrite(run_id=run_id, write=LogParams(body=body)), answer
    )


@router.post("/runs/{run_id}/tags", response_model=TagsRead, responses=QUEUED)
async def set_tags(run_id: RunId, body: TagsBody, request: Request) -> TagsRead | JSONResponse:
    """Set tags; 202 while the database is unreachable (replayed)."""

    async def answer(session: AsyncSession, _applied: Applied) -> TagsRead:
        return TagsRead(tags=await service.get_tags(session, run_id))

    return await write_or_queue(
        request, PendingWrite(run_id=run_id, write=SetTags(body=body)), answer
    )


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
