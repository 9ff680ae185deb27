"""A circuit breaker per notification target host, so a dead one stalls no other delivery.

Without it every delivery owed to a dead webhook host waits out the send timeout, holding
one of the notifier's few concurrent send slots. With it, after a few failures in a row
its deliveries fail at once with a retryable `SendError` that asks for the breaker's reset
time as `Retry-After`: the delivery backoff of `sending.py` reschedules them as for any
other retryable failure, and the slots go to targets that answer.
"""

from collections.abc import Awaitable, Callable

from trackboard.server.backends.circuit_breaker import CircuitBreaker
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard
from trackboard.server.notifications.notification import SendError


def _counts_against_target(error: BaseException) -> bool:
    # A target that answered "no" (4xx, a refused URL) is up; only "not now" counts.
    return isinstance(error, SendError) and error.retryable


class TargetBreakers:
    def __init__(self, settings: BreakerSettings, send_timeout_s: float) -> None:
        self.settings = settings
        self._send_timeout_s = send_timeout_s
        self._guards: dict[str, DependencyGuard] = {}

    def _guard(self, name: str) -> DependencyGuard:
        guard = self._guards.get(name)
        if guard is None:
            reset_s = self.settings.reset_after_s

            def unavailable(message: str) -> SendError:
                return SendError(message, retryable=True, retry_after_s=reset_s)

            guard = DependencyGuard(
                self.settings.breaker(name),
                # A bound over the whole send, past the sender's own timeout (whose error
                # says more), in case something in the send ignores it.
                deadline_s=self._send_timeout_s + 1.0,
                unavailable=unavailable,
                is_failure=_counts_against_target,
            )
            self._guards[name] = guard
        return guard

    async def send(self, name: str, send: Callable[[], Awaitable[None]]) -> None:
        """`send()` through the breaker of target `name` (e.g. `webhook:hooks.example.com`)."""
        await self._guard(name).call(send)

    def breakers(self) -> dict[str, CircuitBreaker]:
        return {name: guard.breaker for name, guard in self._guards.items()}
