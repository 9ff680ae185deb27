"""RED metrics per route template and the ingest pipeline's instruments, on a registry of
each app's or worker's own (tests build many apps)."""

import time
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackboard.server.observability.dependency_metrics import DependencyGauges

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
FRESHNESS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
SIZE_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


@dataclass
class Instruments:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "trackboard_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "trackboard_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.points_ingested = Counter(
            "trackboard_metric_points_ingested_total",
            "Metric points accepted for storage.",
            registry=self.registry,
        )
        self.runs_created = Counter(
            "trackboard_runs_created_total", "Runs created.", registry=self.registry
        )
        self.experiments_created = Counter(
            "trackboard_experiments_created_total", "Experiments created.", registry=self.registry
        )

        self.ingest_freshness = Histogram(
            "trackboard_ingest_freshness_seconds",
            "Time from a metric batch's acceptance by the API to its commit (readable).",
            buckets=FRESHNESS_BUCKETS,
            registry=self.registry,
        )
        self.ingest_queue_depth = Gauge(
            "trackboard_ingest_queue_depth",
            "Metric batches waiting in the ingest queue.",
            registry=self.registry,
        )
        self.dependencies = DependencyGauges(self.registry)
        self.replica_lag = Gauge(
            "trackboard_replica_lag_seconds",
            "How far each read replica is behind the primary (inf while it is down).",
            ["replica"],
            registry=self.registry,
        )
        self.ingest_dead_letter_depth = Gauge(
            "trackboard_ingest_dead_letter_depth",
            "Messages waiting in the dead-letter queue for someone to look at them.",
            registry=self.registry,
        )
        self.replay_queue_depth = Gauge(
            "trackboard_replay_queue_depth",
            "Run writes taken while the database was unreachable, waiting to be replayed.",
            registry=self.registry,
        )
        self.replay_dead_letter_depth = Gauge(
            "trackboard_replay_dead_letter_depth",
            "Queued run writes that could not be applied, waiting for someone to look at them.",
            registry=self.registry,
        )
        self.ingest_write_messages = Histogram(
            "trackboard_ingest_write_batch_messages",
            "Queue messages merged into one database write.",
            buckets=SIZE_BUCKETS,
            registry=self.registry,
        )
        self.ingest_write_points = Histogram(
            "trackboard_ingest_write_batch_points",
            "Metric points in one database write.",
            buckets=SIZE_BUCKETS,
            registry=self.registry,
        )
        self.ingest_write_latency = Histogram(
            "trackboard_ingest_write_duration_seconds",
            "Duration of one ingest write transaction, commit included.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingest_write_retries = Counter(
            "trackboard_ingest_write_retries_total",
            "Ingest writes retried after a transient database error.",
            registry=self.registry,
        )
        self.ingest_duplicates = Counter(
            "trackboard_ingest_duplicate_batches_total",
            "Batches not stored again because their batch id was already applied.",
            registry=self.registry,
        )
        self.ingest_dead_letters = Counter(
            "trackboard_ingest_dead_letters_total",
            "Messages moved to the dead-letter queue.",
            registry=self.registry,
        )
        self.ingest_chunks_compacted = Counter(
            "trackboard_ingest_chunks_compacted_total",
            "Small metric chunks merged into larger ones by background compaction.",
            registry=self.registry,
        )
        self.ingest_rejected = Counter(
            "trackboard_ingest_rejected_total",
            "Batches refused with 503 because the queue was full or unreachable.",
            ["reason"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def serve_exposition(instruments: Instruments, host: str, port: int) -> None:
    """Expose the instruments over HTTP from a thread (the worker has no web app)."""
    start_http_server(port, addr=host, registry=instruments.registry)


def route_template(scope: Scope) -> str:
    """The matched route's path template (set by the router), so ids don't explode labels."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class PrometheusMiddleware:
    def __init__(self, app: ASGIApp, instruments: Instruments) -> None:
        self.app = app
        self.instruments = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = route_template(scope)
            method = scope["method"]
            self.instruments.requests.labels(method, route, str(status)).inc()
            self.instruments.latency.labels(method, route).observe(time.perf_counter() - started)
