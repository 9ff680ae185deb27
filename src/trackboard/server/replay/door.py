"""The run write routes' path for "database unreachable": the write goes into the replay
queue and is answered 202, or, without a broker (or with the queue full or away), 503 with
`Retry-After` as before."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import is_outage
from trackboard.server.backends.queue import Queue, QueueFullError, QueueUnavailableError
from trackboard.server.gateway.authorization import remember_run_owner
from trackboard.server.replay.writes import Applied, CreateRun, PendingWrite, apply_write
from trackboard.server.runs.schemas import WriteQueued
from trackboard.server.unit_of_work import write_transaction

T = TypeVar("T")

# The routes' OpenAPI entry for their 202.
QUEUED: dict[int | str, dict[str, Any]] = {status.HTTP_202_ACCEPTED: {"model": WriteQueued}}


def replay_queue(request: Request) -> Queue[bytes] | None:
    queue: Queue[bytes] | None = getattr(request.app.state, "replay_queue", None)
    return queue


async def write_or_queue(
    request: Request,
    pending: PendingWrite,
    answer: Callable[[AsyncSession, Applied], Awaitable[T]],
) -> T | JSONResponse:
    """Apply `pending` in the request's transaction and return `answer`'s reply; if the
    database cannot be reached (before or at the commit), queue it for the workers to
    replay and answer 202. A commit whose outcome was lost may be applied and queued both:
    the write's request id (or the run id of a creation) makes the replay change nothing."""
    try:
        async with write_transaction(request) as session:
            # Returned once the block has committed: a failed commit is caught below too.
            return await answer(session, await apply_write(session, pending))
    except Exception as error:
        queue = replay_queue(request)
        if queue is None or not is_outage(error):
            raise
        try:
            await queue.publish(pending.encode())
        except (QueueFullError, QueueUnavailableError):
            raise error from None  # the outage's own 503 + Retry-After
    write = pending.write
    if isinstance(write, CreateRun):
        # The gateway finds a run's experiment in the database, which is away: the run's
        # next writes are authorized with what this creation says.
        await remember_run_owner(request, pending.run_id, write.experiment_id)
    queued = WriteQueued(run_id=pending.run_id, request_id=pending.request_id)
    return JSONResponse(queued.model_dump(), status_code=status.HTTP_202_ACCEPTED)
