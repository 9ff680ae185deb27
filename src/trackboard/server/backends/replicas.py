"""Read replicas: reads go to a PostgreSQL streaming replica that is up, not lagging, and
has replayed at least as far as the reader needs (read-your-writes); otherwise to the
primary.

A monitor polls every `poll_s`: the primary's WAL position and each replica's replay
position. A replica's lag is how long ago the primary first passed the position the replica
has replayed to (0 when it has caught up), so an idle primary does not look like lag.
"""

import asyncio
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


def parse_lsn(lsn: str) -> int:
    """PostgreSQL's `X/Y` WAL position as one comparable integer."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    name: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    up: bool = False
    replayed: int = -1
    lag_s: float = float("inf")

    def reported_lag(self) -> float:
        """Lag for monitoring: infinite while the replica is down."""
        return self.lag_s if self.up else float("inf")


@dataclass
class ReplicaSet:
    primary: AsyncEngine
    replicas: list[Replica]
    max_lag_s: float = 5.0
    poll_s: float = 0.2
    # (when, primary WAL position) of recent polls, to turn replay positions into lag.
    history: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=3000))
    _turn: "itertools.count[int]" = field(default_factory=itertools.count)

    def choose(self, read_after: int | None) -> Replica | None:
        """A replica fit to serve this read, taking turns; None: read from the primary."""
        fit = [
            r
            for r in self.replicas
            if r.up
            and r.lag_s <= self.max_lag_s
            and (read_after is None or r.replayed >= read_after)
        ]
        return fit[next(self._turn) % len(fit)] if fit else None

    def mark_down(self, replica: Replica, error: BaseException) -> None:
        if replica.up:
            log.warning("replica %s is down, reading from the primary: %r", replica.name, error)
        replica.up = False

    async def poll_once(self) -> None:
        async with self.primary.connect() as connection:
            result = await connection.execute(text("SELECT pg_current_wal_lsn()::text"))
            primary_position = parse_lsn(result.scalar_one())
        now = time.monotonic()
        self.history.append((now, primary_position))
        for replica in self.replicas:
            try:
                async with asyncio.timeout(max(self.poll_s * 5, 1.0)):
                    async with replica.engine.connect() as connection:
                        result = await connection.execute(
                            text("SELECT pg_last_wal_replay_lsn()::text")
                        )
                        replayed = result.scalar_one()
            except Exception as error:
                self.mark_down(replica, error)
                continue
            if replayed is None:  # not a standby: it cannot serve as a replica
                self.mark_down(replica, RuntimeError("not in recovery"))
                continue
            replica.replayed = parse_lsn(replayed)
            replica.lag_s = self._lag(replica.replayed, now)
            if not replica.up:
                log.info("replica %s is up (lag %.2f s)", replica.name, replica.lag_s)
            replica.up = True

    def _lag(self, replayed: int, now: float) -> float:
        for when, position in self.history:
            if position > replayed:
                return now - when
        return 0.0

    async def run(self) -> None:
        """Poll until cancelled; a primary that cannot be reached is retried next time."""
        while True:
            try:
                await self.poll_once()
            except Exception as error:
                log.warning("replica monitor could not reach the primary: %r", error)
            await asyncio.sleep(self.poll_s)

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()
