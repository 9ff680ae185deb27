"""Prometheus view of the dependencies: up or down at the last check, breaker states."""

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trackboard.server.backends.circuit_breaker import BreakerState, CircuitBreaker

# A number per state, so an alert can say "open for 2 minutes".
BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class DependencyGauges:
    """`trackboard_dependency_up{dependency}`: 1 if it answered the last check, else 0."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._up = Gauge(
            "trackboard_dependency_up",
            "Whether each dependency answered the last health check (1) or not (0).",
            ["dependency"],
            registry=registry,
        )

    def record(self, states: Iterable[tuple[str, bool]]) -> None:
        for name, up in states:
            self._up.labels(name).set(1 if up else 0)


class BreakerCollector(Collector):
    """Breaker states and failure counts, read from the breakers at each scrape."""

    def __init__(self, breakers: Callable[[], Mapping[str, CircuitBreaker]]) -> None:
        self._breakers = breakers

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "trackboard_circuit_breaker_state",
            "Circuit breaker per dependency: 0 closed, 1 half-open (probing), 2 open.",
            labels=["dependency"],
        )
        failures = CounterMetricFamily(
            "trackboard_dependency_failures",
            "Failed or timed-out calls to each dependency guarded by a breaker.",
            labels=["dependency"],
        )
        for name, breaker in self._breakers().items():
            state.add_metric([name], BREAKER_STATE_VALUES[breaker.state])
            failures.add_metric([name], breaker.total_failures)
        yield state
        yield failures
