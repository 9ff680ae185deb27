"""Run writes that may wait in the replay queue, and the one function that applies them:
the routes call it at once, the replayer (`replayer`) later, with the same services.

A write carries the client's request id (a run creation its client-chosen run id): it is
recorded in the run's `applied_batches`, the table that makes a repeated metric batch id
store nothing, in the write's own transaction, so a write applied twice (replayed after
its answer was lost, or redelivered) changes the run once.
"""

from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.identifiers import Id, RunId
from trackboard.server.runs import service
from trackboard.server.runs.schemas import ParamsBody, RunCreate, RunUpdate, TagsBody
from trackboard.server.runs.service import RunChange


class CreateRun(BaseModel):
    kind: Literal["create_run"] = "create_run"
    experiment_id: Id
    run: RunCreate


class LogParams(BaseModel):
    kind: Literal["log_params"] = "log_params"
    body: ParamsBody


class SetTags(BaseModel):
    kind: Literal["set_tags"] = "set_tags"
    body: TagsBody


class UpdateRun(BaseModel):
    kind: Literal["update_run"] = "update_run"
    body: RunUpdate


class PendingWrite(BaseModel):
    """One write to one run, as its route parsed it (the replayer parses it again with the
    same schemas, so a queued write is exactly what the route would have applied)."""

    run_id: RunId
    write: Annotated[CreateRun | LogParams | SetTags | UpdateRun, Field(discriminator="kind")]

    @property
    def request_id(self) -> str | None:
        write = self.write
        if isinstance(write, CreateRun):
            return write.run.id
        return write.body.request_id

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, body: bytes) -> "PendingWrite":
        """The write, or pydantic's ValidationError (a message that can never apply)."""
        return cls.model_validate_json(body)


class Applied(NamedTuple):
    """What applying a write did: the run's change when the service returned one (a
    creation, an update), and whether it changed anything (False: a repeat)."""

    change: RunChange | None
    fresh: bool


async def apply_write(session: AsyncSession, pending: PendingWrite) -> Applied:
    """Apply `pending` in the caller's transaction. A write whose request id the run
    applied before changes nothing; a creation is idempotent by its run id instead (the
    service answers the existing run)."""
    write = pending.write
    if isinstance(write, CreateRun):
        run = write.run
        change, created = await service.create_run(
            session,
            write.experiment_id,
            run_id=pending.run_id,
            name=run.name,
            start_time=run.start_time,
            user=run.user,
            status=run.status,
            tags=run.tags,
            params=run.params,
        )
        return Applied(change, created)
    request_id = write.body.request_id
    if request_id is not None and not await service.claim_request(
        session, pending.run_id, request_id
    ):
        return Applied(None, False)
    if isinstance(write, LogParams):
        await service.log_params(session, pending.run_id, write.body.params)
        return Applied(None, True)
    if isinstance(write, SetTags):
        await service.set_tags(session, pending.run_id, write.body.tags)
        return Applied(None, True)
    body = write.body
    change = await service.update_run(
        session, pending.run_id, name=body.name, status=body.status, end_time=body.end_time
    )
    return Applied(change, True)
