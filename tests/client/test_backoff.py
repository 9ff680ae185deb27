"""Retry delays: exponential, jittered, capped, and never shorter than Retry-After."""

from __future__ import annotations

import random

from trackboard.client.backoff import Backoff


def test_delays_double_within_jitter_and_stop_at_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_delays_of_different_clients() -> None:
    delays = {round(Backoff(base=1.0, cap=8.0).next_delay(), 6) for _ in range(20)}
    assert len(delays) > 1


def test_retry_after_sets_the_minimum_delay() -> None:
    backoff = Backoff(base=0.1, cap=1.0, rng=random.Random(2))
    delay = backoff.next_delay(retry_after=5.0)
    assert 5.0 <= delay <= 5.5


def test_reset_starts_over_from_the_base() -> None:
    backoff = Backoff(base=1.0, cap=64.0, rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0
