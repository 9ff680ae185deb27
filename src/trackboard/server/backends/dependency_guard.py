"""A dependency's calls behind its circuit breaker and deadline: one way, for every dependency.

While the breaker is closed, calls go ahead, each within `deadline_s`; failures and timeouts
count. Once it is open, calls are refused at once with the dependency's own "unavailable"
error (what its callers already handle). When the breaker lets a probe through, a guard with
a `probe` (a cheap call such as a ping) makes it in the background, so no request waits on a
dependency that may still be gone; a guard without one lets that one call through.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from trackboard.server.backends.circuit_breaker import BreakerState, CircuitBreaker

T = TypeVar("T")


@dataclass(frozen=True)
class BreakerSettings:
    """How many failures in a row open a breaker, and how long it stays open before a probe."""

    failure_threshold: int = 3
    reset_after_s: float = 2.0

    def breaker(self, name: str) -> CircuitBreaker:
        return CircuitBreaker(
            name, failure_threshold=self.failure_threshold, reset_after_s=self.reset_after_s
        )


class DependencyGuard:
    def __init__(
        self,
        breaker: CircuitBreaker,
        *,
        deadline_s: float,
        unavailable: Callable[[str], Exception],
        is_failure: Callable[[BaseException], bool],
        probe: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.breaker = breaker
        self.deadline_s = deadline_s
        self._unavailable = unavailable
        self._is_failure = is_failure
        self._probe = probe
        self._probe_task: asyncio.Task[None] | None = None

    def admit(self) -> None:
        """Return if a call may go ahead now; raise the dependency's error if not."""
        if self.breaker.state is BreakerState.CLOSED:
            return
        if self.breaker.allow():
            if self._probe is None:
                return  # this call is the probe
            self._start_probe()
        raise self._unavailable(f"{self.breaker.name}: circuit open after repeated failures")

    def record(self, error: BaseException | None) -> None:
        """The outcome of an admitted call: None for a success. A timeout always counts as
        a failure; other errors that say nothing of the dependency's health (a bad request,
        a cancelled caller) close no breaker and open none, except that a probe must always
        end, or the breaker stays half-open."""
        if error is None:
            self.breaker.succeeded()
        elif (
            isinstance(error, TimeoutError)
            or self._is_failure(error)
            or self.breaker.state is BreakerState.HALF_OPEN
        ):
            self.breaker.failed()

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()` if admitted, within the deadline; a timeout raises `unavailable`."""
        self.admit()
        try:
            async with asyncio.timeout(self.deadline_s):
                result = await operation()
        except TimeoutError as error:
            self.record(error)
            message = f"{self.breaker.name}: no answer within {self.deadline_s:g} s"
            raise self._unavailable(message) from error
        except BaseException as error:
            self.record(error)
            raise
        self.record(None)
        return result

    def _start_probe(self) -> None:
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.create_task(
                self._run_probe(), name=f"{self.breaker.name}-probe"
            )

    async def _run_probe(self) -> None:
        assert self._probe is not None
        healthy = False
        try:
            async with asyncio.timeout(self.deadline_s):
                await self._probe()
            healthy = True
        except Exception:  # any failure of the probe keeps the dependency counted as down
            pass
        finally:
            # Also when the probe ends by a `CancelledError` (a closed channel's pending call,
            # or `close()`): a probe that records nothing leaves the breaker half-open with
            # its probe out, refusing every call for the rest of the process's life.
            if healthy:
                self.breaker.succeeded()
            else:
                self.breaker.failed()

    def close(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
