"""The circuit breaker's states: closed, open after repeated failures, one probe after the
pause, closed again by a successful probe."""

import time

import pytest

from trackboard.server.backends.circuit_breaker import BreakerState, CircuitBreaker


def test_opens_after_repeated_failures_and_probes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    breaker = CircuitBreaker("x", failure_threshold=3, reset_after_s=2.0)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    now[0] += 2.5
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one
    breaker.failed()
    assert breaker.state is BreakerState.OPEN
    now[0] += 2.5
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    assert breaker.allow()


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("x", failure_threshold=3)
    for _ in range(5):
        breaker.failed()
        breaker.failed()
        breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
