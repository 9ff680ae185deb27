"""The queue side of metric ingestion: publish with back-pressure, wait for the commit.

Distributed mode (RabbitMQ): a publish returns once the broker confirmed the message; a
worker writes it later. Embedded mode (in-process queue): the writer runs in this process and
`publish_and_wait` returns after its commit, so concurrent requests share one transaction
(group commit). Both refuse with 503 + Retry-After while the queue is deeper than its bound.
Every door that logs metrics reaches this through `metrics.service.accept_batch`.
"""

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence

from trackboard.server.backends.cancellation import is_stopping
from trackboard.server.backends.queue import QueueFullError, QueueUnavailableError
from trackboard.server.errors import Unavailable
from trackboard.server.metrics.ingest.message import IngestMessage, MessageQueue
from trackboard.server.metrics.ingest.run_cache import RunCache
from trackboard.server.metrics.ingest.writer import Outcome
from trackboard.server.observability.prometheus import Instruments

log = logging.getLogger(__name__)

DEPTH_POLL_S = 0.2
# How often the runs that writes use are looked at for a refresh (`refresh_runs` of `start`).
RUN_REFRESH_S = 0.25
# A depth read is bounded by the queue's own timeout (10 s by default).
STOP_TIMEOUT_S = 15.0


class Ingestor:
    """Publishes metric batches; built once per app by the composition root."""

    def __init__(
        self,
        queue: MessageQueue,
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
        # Runs read recently, for the run check of every write (`metrics.service.find_run`).
        self.runs = RunCache()
        self._poller: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self, refresh_runs: Callable[[], Awaitable[None]] | None = None) -> None:
        """Start polling the queue's depth and, given `refresh_runs`, calling it every
        `RUN_REFRESH_S` (`metrics.service.refresh_runs_in_use`)."""
        self._poller = asyncio.create_task(self._poll_depth(), name="ingest-depth")
        if refresh_runs is not None:
            self._refresher = asyncio.create_task(
                self._keep_runs_fresh(refresh_runs), name="ingest-run-refresh"
            )

    async def stop(self) -> None:
        # The flag ends the loop at its next turn even if the cancellation is lost inside
        # the broker client (a test once waited out its timeout in the app's shutdown, the
        # poll still looping after the app's other tasks had stopped); the wait is bounded
        # for the same reason.
        self._stopping = True
        tasks = [task for task in (self._poller, self._refresher) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in running:
                log.warning("%s did not stop within %s s", task.get_name(), STOP_TIMEOUT_S)

    async def _poll_depth(self) -> None:
        # One broker round trip per interval instead of one per request.
        # It must outlive any error: if it ended, the last depth read would stay in force,
        # and a full queue's would refuse every batch for the rest of the process's life.
        while not self._stopping:
            try:
                self.depth = await self.queue.depth()
                self.instruments.ingest_queue_depth.set(self.depth)
            except QueueUnavailableError as error:
                log.warning("cannot read the ingest queue depth: %s", error)
            except asyncio.CancelledError:
                if is_stopping():
                    raise
                log.warning("a depth read was rejected by a closing channel")
            except Exception:
                log.exception("reading the ingest queue depth failed")
            await asyncio.sleep(DEPTH_POLL_S)

    async def _keep_runs_fresh(self, refresh: Callable[[], Awaitable[None]]) -> None:
        # Like the depth poll, it outlives any error: while it fails, entries expire and
        # each write reads its run itself, with that read's outage grace. A failure is
        # logged when it starts, not four times a second for as long as it lasts.
        failing = False
        while not self._stopping:
            try:
                await refresh()
                failing = False
            except asyncio.CancelledError:
                if is_stopping():
                    raise
            except Exception as error:
                if not failing:
                    log.warning("cannot refresh the runs in use: %r", error)
                failing = True
            await asyncio.sleep(RUN_REFRESH_S)

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
            await self.queue.publish(message)
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
