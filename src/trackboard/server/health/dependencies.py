"""Whether each dependency answers now: what `/readyz` reports and Prometheus exports.

One probe per dependency, all run at once, each within its own deadline, so a stalled
dependency costs `/readyz` its deadline, never a hung socket. Only the primary database is
required: without it this instance can serve nothing, so a load balancer should send its
traffic elsewhere. Redis accelerates (requests fall back without it), replicas are
optional (reads go to the primary), and without RabbitMQ only metric batches are refused —
every instance shares the broker, so taking them all out of rotation would not help.
Dependencies called only on demand (the S3 artifact store, notification targets) are not
probed: their breaker's state stands for them (up unless it is open).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from trackboard.server.backends.cache import Cache, RedisCache
from trackboard.server.backends.circuit_breaker import BreakerState, CircuitBreaker
from trackboard.server.backends.database import Database
from trackboard.server.backends.queue import Queue

DEADLINE_S = 2.0


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    up: bool
    required: bool
    latency_ms: float | None  # None: not probed by a call (a replica's state comes from its poll)
    detail: str  # "ok", or why not
    breaker: str | None = None  # the state of the breaker guarding it, if one does

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"up": self.up, "required": self.required, "detail": self.detail}
        if self.latency_ms is not None:
            body["latency_ms"] = round(self.latency_ms, 1)
        if self.breaker is not None:
            body["breaker"] = self.breaker
        return body


@dataclass(frozen=True)
class Probe:
    name: str
    required: bool
    check: Callable[[], Awaitable[None]]
    breaker: CircuitBreaker | None = None


async def _run(probe: Probe, deadline_s: float) -> DependencyStatus:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline_s):
            await probe.check()
    except TimeoutError:
        up, detail = False, f"no answer within {deadline_s:g} s"
    except Exception as exc:  # any failure is "down"; its kind is what an operator needs
        up, detail = False, type(exc).__name__
    else:
        up, detail = True, "ok"
    breaker = None if probe.breaker is None else probe.breaker.state.value
    latency_ms = (time.perf_counter() - started) * 1000
    return DependencyStatus(probe.name, up, probe.required, latency_ms, detail, breaker)


class DependencyProbes:
    """The dependencies of one server instance, and their last known state."""

    def __init__(
        self,
        probes: Sequence[Probe],
        replicas: Callable[[], list[DependencyStatus]] | None = None,
        *,
        deadline_s: float = DEADLINE_S,
        guarded: Callable[[], Mapping[str, CircuitBreaker]] | None = None,
    ) -> None:
        self.probes = list(probes)
        self._replicas = replicas
        self._guarded = guarded
        self.deadline_s = deadline_s

    @classmethod
    def of(
        cls,
        database: Database,
        cache: Cache,
        queue: Queue[Any] | None,
        queue_breaker: CircuitBreaker | None = None,
        guarded: Callable[[], Mapping[str, CircuitBreaker]] | None = None,
    ) -> "DependencyProbes":
        """Probes for what this instance was built with: the database always; Redis and
        RabbitMQ when configured (their in-process stand-ins cannot fail). `guarded` gives
        the breakers of dependencies probed by no call of ours (the artifact store,
        notification targets), reported by their breaker's state alone."""

        async def select_one() -> None:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        database_breaker = None if database.guard is None else database.guard.breaker
        probes = [Probe("database", True, select_one, database_breaker)]
        if isinstance(cache, RedisCache):
            probes.append(Probe("redis", False, cache.ping, cache.breaker))
        if queue is not None:
            probes.append(Probe("rabbitmq", False, _connected_check(queue), queue_breaker))
        return cls(probes, _replica_states(database), guarded=guarded)

    async def check(self) -> list[DependencyStatus]:
        found = await asyncio.gather(*(_run(probe, self.deadline_s) for probe in self.probes))
        replicas = self._replicas() if self._replicas is not None else []
        return [*found, *replicas, *self._breaker_states()]

    async def run(
        self, interval_s: float, record: Callable[[list[DependencyStatus]], None]
    ) -> None:
        """Check every `interval_s` and `record` the result (what Prometheus exports), until
        cancelled: a scrape reads the last check instead of making one."""
        while True:
            record(await self.check())
            await asyncio.sleep(interval_s)

    def _breaker_states(self) -> list[DependencyStatus]:
        guarded = self._guarded() if self._guarded is not None else {}
        return [
            DependencyStatus(
                name,
                breaker.state is not BreakerState.OPEN,
                False,
                None,
                f"breaker {breaker.state.value}",
                breaker.state.value,
            )
            for name, breaker in guarded.items()
        ]

    def breakers(self) -> dict[str, CircuitBreaker]:
        probed = {p.name: p.breaker for p in self.probes if p.breaker is not None}
        return {**probed, **(self._guarded() if self._guarded is not None else {})}


def _connected_check(queue: Queue[Any]) -> Callable[[], Awaitable[None]]:
    async def connected() -> None:
        if not queue.is_connected():
            raise ConnectionError("not connected to the broker")

    return connected


def _replica_states(database: Database) -> Callable[[], list[DependencyStatus]] | None:
    """Replicas are polled in the background already (`backends.replicas`): report that."""
    replica_set = database.replicas
    if replica_set is None:
        return None

    def states() -> list[DependencyStatus]:
        return [
            DependencyStatus(
                f"replica:{replica.name}",
                replica.up,
                False,
                None,
                f"lag {replica.lag_s:.2f} s" if replica.up else "down",
            )
            for replica in replica_set.replicas
        ]

    return states
