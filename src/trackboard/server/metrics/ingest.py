"""The API side of metric ingestion: put a parsed batch on the queue and say what it means.

Distributed mode (RabbitMQ): answer once the broker confirmed the message (202); a worker
writes it later. Embedded mode (in-process queue): the writer runs in this process and the
request waits for its commit (200), so concurrent requests share one transaction (group
commit). Both refuse with 503 + Retry-After while the queue is deeper than its bound.
"""

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from trackboard.server.backends.database import Database
from trackboard.server.backends.queue import Queue, QueueFullError, QueueUnavailableError
from trackboard.server.errors import InvalidParameter, Unavailable
from trackboard.server.metrics.batch import ParsedBatch
from trackboard.server.metrics.ingest_message import IngestMessage, encode_message
from trackboard.server.metrics.writer import Outcome
from trackboard.server.models import Run
from trackboard.server.observability.prometheus import Instruments
from trackboard.server.runs import service as runs

log = logging.getLogger(__name__)

# A run checked this recently is not read again; one checked within the grace period still
# takes points while the database is unreachable (the writer stores them when it is back).
RUN_CHECK_TTL_S = 5.0
RUN_OUTAGE_GRACE_S = 3600.0
RUN_CACHE_SIZE = 10_000
DEPTH_POLL_S = 0.2
DB_LOOKUP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicate: bool
    # True: committed and readable (HTTP 200); False: durably queued (HTTP 202).
    stored: bool


class Ingestor:
    """Publishes metric batches; built once per app by the composition root."""

    def __init__(
        self,
        queue: Queue,
        instruments: Instruments,
        *,
        waits_for_commit: bool,
        max_depth: int,
        retry_after_s: int = 2,
        commit_timeout_s: float = 30.0,
    ) -> None:
        self.queue = queue
        self.instruments = instruments
        self.waits_for_commit = waits_for_commit
        self.max_depth = max_depth
        self.retry_after_s = retry_after_s
        self.commit_timeout_s = commit_timeout_s
        self.depth = 0
        self._tokens = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Outcome]] = {}
        self._runs_seen: dict[str, tuple[float, Run]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_depth(), name="ingest-depth")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with suppress(asyncio.CancelledError):
                await self._poller

    async def _poll_depth(self) -> None:
        # One broker round trip per interval instead of one per request.
        while True:
            try:
                self.depth = await self.queue.depth()
                self.instruments.ingest_queue_depth.set(self.depth)
            except QueueUnavailableError as error:
                log.warning("cannot read the ingest queue depth: %s", error)
            await asyncio.sleep(DEPTH_POLL_S)

    def written(self, results: Sequence[tuple[IngestMessage, Outcome]]) -> None:
        """The in-process writer committed: answer the requests waiting for these batches."""
        for message, outcome in results:
            if message.token is None:
                continue
            future = self._waiting.pop(message.token, None)
            if future is not None and not future.done():
                future.set_result(outcome)

    def _refuse(self, reason: str, message: str) -> Unavailable:
        self.instruments.ingest_rejected.labels(reason).inc()
        return Unavailable(message, self.retry_after_s)

    async def publish(self, message: IngestMessage) -> None:
        if self.depth >= self.max_depth:
            raise self._refuse("depth", f"the ingest queue holds {self.depth} batches; retry later")
        try:
            await self.queue.publish(encode_message(message))
        except QueueFullError as error:
            raise self._refuse("full", f"the ingest queue is full: {error}") from None
        except QueueUnavailableError as error:
            raise self._refuse("unavailable", f"the ingest queue is unavailable: {error}") from None

    async def publish_and_wait(self, message: IngestMessage) -> Outcome:
        assert message.token is not None
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[message.token] = future
        try:
            await self.publish(message)
            return await asyncio.wait_for(asyncio.shield(future), self.commit_timeout_s)
        except TimeoutError:
            raise self._refuse("timeout", "the batch was not written in time") from None
        finally:
            self._waiting.pop(message.token, None)

    def new_token(self) -> int:
        return next(self._tokens)

    def remember_run(self, run: Run) -> None:
        if len(self._runs_seen) >= RUN_CACHE_SIZE:
            self._runs_seen.pop(next(iter(self._runs_seen)))
        self._runs_seen[run.id] = (time.monotonic(), run)

    def run_seen(self, run_id: str) -> tuple[float, Run] | None:
        """When the run was last found active in the database, and the run."""
        return self._runs_seen.get(run_id)


def _database_unreachable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError)


async def find_active_run(ingestor: Ingestor, database: Database, run_id: str) -> Run:
    """The run the batch is for, checked in the database — or, while the database is
    unreachable, as it was last seen, so that points queue up instead of being refused."""
    cached = ingestor.run_seen(run_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < RUN_CHECK_TTL_S:
        return cached[1]
    try:
        async with asyncio.timeout(DB_LOOKUP_TIMEOUT_S):
            async with database.transaction(write=False) as session:
                run = await runs.get_active_run(session, run_id)
    except Exception as error:
        if not _database_unreachable(error):
            raise
        if cached is not None and now - cached[0] < RUN_OUTAGE_GRACE_S:
            return cached[1]
        raise Unavailable("the database is unreachable", ingestor.retry_after_s) from None
    ingestor.remember_run(run)
    return run


async def ingest_batch(ingestor: Ingestor, run: Run, batch: ParsedBatch) -> IngestResult:
    """Take one parsed batch for a run: stored (embedded) or durably queued (distributed).

    The one entry point for every API that logs metrics (v1 and MLflow's log-batch).
    """
    accepted_at_ns = time.time_ns()
    if ingestor.waits_for_commit:
        message = IngestMessage(
            run.id,
            run.experiment_id,
            batch.batch_id,
            batch.series,
            accepted_at_ns,
            ingestor.new_token(),
        )
        outcome = await ingestor.publish_and_wait(message)
        if outcome.error is not None:
            raise InvalidParameter(f"the batch could not be stored: {outcome.error}")
        ingestor.instruments.points_ingested.inc(batch.point_count if outcome.stored else 0)
        return IngestResult(batch.point_count if outcome.stored else 0, not outcome.stored, True)
    # A redelivered message must be recognisable even when the client sent no id.
    batch_id = batch.batch_id or uuid.uuid4().hex
    message = IngestMessage(run.id, run.experiment_id, batch_id, batch.series, accepted_at_ns)
    await ingestor.publish(message)
    ingestor.instruments.points_ingested.inc(batch.point_count)
    return IngestResult(batch.point_count, False, False)
