"""A circuit breaker: after repeated failures of a dependency, calls fail at once for a while
instead of each waiting out its own timeout; then one probe call decides.

closed → (``failure_threshold`` failures in a row) → open → (``reset_after_s``) → half-open:
the next call is let through as a probe; its success closes the breaker, its failure opens
it again. Calls made while it is open, or while a probe is out, are refused at once.
"""

import time
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self, name: str, *, failure_threshold: int = 3, reset_after_s: float = 2.0
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.state = BreakerState.CLOSED
        self.failures = 0
        # Every failure since start, for Prometheus (`failures` restarts at each success).
        self.total_failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    def allow(self) -> bool:
        """Whether a call may go ahead now (in half-open: only the one probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if time.monotonic() - self._opened_at < self.reset_after_s:
                return False
            self.state = BreakerState.HALF_OPEN
            self._probe_out = False
        if self._probe_out:
            return False
        self._probe_out = True
        return True

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._probe_out = False

    def failed(self) -> None:
        self.failures += 1
        self.total_failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self._opened_at = time.monotonic()
            self._probe_out = False
