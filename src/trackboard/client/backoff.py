"""Delays between retries: exponential with jitter, never shorter than `Retry-After`."""

from __future__ import annotations

import random


class Backoff:
    """Doubles from `base` up to `cap`; the delay is drawn in [d/2, d] ("equal jitter") so
    many clients coming back from one outage spread out but none hammers the server."""

    def __init__(self, base: float = 0.2, cap: float = 10.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng: random.Random = rng or random.Random()

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self.cap, self.base * (2.0**self.failures))
        self.failures += 1
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            # The server said when; a little jitter on top keeps clients from returning together.
            return max(delay, retry_after + self._rng.uniform(0, min(1.0, retry_after * 0.1)))
        return delay

    def reset(self) -> None:
        self.failures = 0
