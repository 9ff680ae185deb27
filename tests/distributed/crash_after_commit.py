"""A process that commits a change with the outbox on and dies before anything publishes it.

`python -m tests.distributed.crash_after_commit <database url> <experiment name>`: the first
after-commit step SIGKILLs the process, so the event exists only as an `event_outbox` row.
"""

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from trackboard.server.backends.database import Database
from trackboard.server.events import Event
from trackboard.server.experiments import service as experiments


async def die(events: Sequence[Event]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(database_url: str, name: str) -> None:
    database = Database.connect(database_url)
    database.events.outbox = True
    database.events.subscribe("crash", die)
    async with database.transaction() as session:
        await experiments.create_experiment(session, name, {})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
