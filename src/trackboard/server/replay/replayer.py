"""The workers' consumer of the replay queue: each queued write is applied through the same
function as its route (`writes.apply_write`), one after the other in queue order.

The queue has a single active consumer (RabbitMQ hands it to one worker at a time), so a
run's writes apply in the order they were taken: its creation first, its status last. A
write waits, unacked, until the database takes it; one that can never apply (the run or
experiment is gone, a param would change) goes to the dead-letter queue with the reason.
"""

import asyncio
import logging

from pydantic import ValidationError

from trackboard.server.backends.database import Database, is_outage
from trackboard.server.backends.queue import Delivery, Queue, QueueUnavailableError
from trackboard.server.errors import TrackboardError, Unavailable
from trackboard.server.replay.writes import PendingWrite, apply_write

log = logging.getLogger(__name__)

# A bug (not an outage, not a refusal) may be a race another attempt wins; past this many
# attempts the write is set aside rather than holding up every write behind it.
MAX_ATTEMPTS = 5


class Replayer:
    def __init__(self, queue: Queue[bytes], database: Database, retry_s: float = 1.0) -> None:
        self._queue = queue
        self._database = database
        self._retry_s = retry_s
        self.replayed = 0

    async def run(self) -> None:
        while True:
            try:
                deliveries = await self._queue.receive(100, 1.0)
            except QueueUnavailableError as error:
                log.warning("replay queue unavailable, retrying: %s", error)
                await asyncio.sleep(self._retry_s)
                continue
            try:
                for delivery in deliveries:
                    await self._replay(delivery)
            except QueueUnavailableError as error:
                # A dead-letter publish failed: the broker went away with these unacked,
                # and gives them again (in order) once the connection is back.
                log.warning("replay queue lost while replaying: %s", error)
                await asyncio.sleep(self._retry_s)

    async def _replay(self, delivery: Delivery[bytes]) -> None:
        try:
            pending = PendingWrite.decode(delivery.body)
        except ValidationError as error:
            await self._queue.dead_letter(delivery, f"not a replayable write: {error}")
            return
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self._database.transaction() as session:
                    await apply_write(session, pending)
            except Unavailable as error:
                await self._wait("unavailable", error)
            except TrackboardError as error:  # refused: the same write will be refused again
                await self._queue.dead_letter(delivery, f"{error.code}: {error.message}")
                return
            except Exception as error:
                if is_outage(error):
                    await self._wait("unreachable", error)
                elif attempts >= MAX_ATTEMPTS:
                    log.exception("replayed write failed %d times; dead-lettered", attempts)
                    await self._queue.dead_letter(delivery, f"{type(error).__name__}: {error}")
                    return
                else:
                    await self._wait("failed", error)
            else:
                await self._queue.ack([delivery])
                self.replayed += 1
                return

    async def _wait(self, what: str, error: BaseException) -> None:
        log.warning("replayed write: database %s (%r); retrying", what, error)
        await asyncio.sleep(self._retry_s)
