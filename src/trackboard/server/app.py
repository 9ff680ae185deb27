"""Composition root of the API: `create_app(settings)` builds the backends at start-up."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from trackboard._version import __version__
from trackboard.server.accounts.credential_events import CredentialForgetting
from trackboard.server.accounts.routes import router as accounts_router
from trackboard.server.artifacts.dependencies import artifact_store_guard
from trackboard.server.artifacts.routes import router as artifacts_router
from trackboard.server.artifacts.run_routes import router as run_artifacts_router
from trackboard.server.backends.broadcast import RabbitBroadcast, open_broadcast
from trackboard.server.backends.cache import open_cache
from trackboard.server.backends.cache_aside import CacheStats, ReadThroughCache
from trackboard.server.backends.circuit_breaker import CircuitBreaker
from trackboard.server.backends.database import Database
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.event_relay import (
    EventPublisher,
    HandlerEventPublisher,
    OutboxRelay,
    RabbitEventPublisher,
    attach_outbox_relay,
)
from trackboard.server.backends.queue import RabbitQueue
from trackboard.server.cache_invalidation import CacheInvalidation
from trackboard.server.compare.routes import router as compare_router
from trackboard.server.config import Settings
from trackboard.server.dashboard.static_files import STATIC_DIR, mount_dashboard
from trackboard.server.dashboard_stats.routes import router as dashboard_stats_router
from trackboard.server.experiments.routes import router as experiments_router
from trackboard.server.gateway.authorization import authorize
from trackboard.server.gateway.body_limit import BodyLimitMiddleware, BodyLimits
from trackboard.server.gateway.error_handlers import install_error_handlers
from trackboard.server.gateway.middleware import GatewayMiddleware
from trackboard.server.gateway.request_guard import HostAllowList, RequestGuardMiddleware
from trackboard.server.gateway.security_headers import SecurityHeadersMiddleware
from trackboard.server.gateway.session_routes import router as session_router
from trackboard.server.gateway.wiring import build_gateway
from trackboard.server.health.dependencies import DependencyProbes, DependencyStatus
from trackboard.server.health.routes import router as health_router
from trackboard.server.live.routes import router as live_router
from trackboard.server.live.service import LiveService
from trackboard.server.metrics.ingest.loop import build_ingest_loop, open_ingest_queue
from trackboard.server.metrics.ingest.message import EncodedQueue
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.metrics.routes import router as metrics_router
from trackboard.server.metrics.service import refresh_runs_in_use
from trackboard.server.migrate import upgrade_database
from trackboard.server.mlflow_compat.routes import hot_router as mlflow_hot_router
from trackboard.server.mlflow_compat.routes import router as mlflow_router
from trackboard.server.notifications.routes import router as notifications_router
from trackboard.server.notifications.senders import Senders
from trackboard.server.notifier import (
    build_notification_engine,
    consume_events,
    open_notifier_queue,
)
from trackboard.server.observability.cache_stats import CacheStatsCollector
from trackboard.server.observability.dependency_metrics import BreakerCollector
from trackboard.server.observability.logging import RequestIdMiddleware, configure_logging
from trackboard.server.observability.notifier_metrics import outbox_backlog_gauge
from trackboard.server.observability.prometheus import Instruments, PrometheusMiddleware
from trackboard.server.process_loop import open_broker_relay, stop_tasks
from trackboard.server.read_your_writes import ReadYourWritesMiddleware
from trackboard.server.replay.connection import open_replay_queue
from trackboard.server.runs.routes import router as runs_router
from trackboard.server.saved_views.routes import router as saved_views_router
from trackboard.server.search.export_routes import router as export_router
from trackboard.server.search.group_routes import router as run_groups_router
from trackboard.server.search.routes import router as search_router


def operation_id(route: APIRoute) -> str:
    """Unique per method and path: MLflow's routes serve GET and POST, under two prefixes."""
    methods = "_".join(sorted(route.methods or ()))
    return f"{route.name}_{methods}_{route.path_format}".lower().strip("/")


log = logging.getLogger(__name__)


def breakers_of(app: FastAPI) -> dict[str, CircuitBreaker]:
    """The breakers of the running app's dependencies (none before start-up)."""
    probes: DependencyProbes | None = getattr(app.state, "dependencies", None)
    return {} if probes is None else probes.breakers()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Before uvicorn's first line: every line the server writes is in one format.
    configure_logging(settings.log_level, settings.log_json)
    instruments = Instruments()
    cache_stats = CacheStats()
    instruments.registry.register(CacheStatsCollector(cache_stats))
    instruments.registry.register(BreakerCollector(lambda: breakers_of(app)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.is_embedded:
            settings.home.mkdir(parents=True, exist_ok=True)
        database = Database.connect(
            settings.resolved_database_url(),
            settings.db_pool_size,
            settings.database_random_page_cost,
            settings.replica_urls,
            settings.replica_max_lag_s,
            pool_timeout_s=settings.db_pool_timeout_s,
        )
        breaker = BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s)
        database.guard_primary(breaker, settings.database_deadline_s)
        # Loops beside the requests, cancelled at shutdown.
        background: list[asyncio.Task[object]] = []
        if database.replicas is not None:
            for replica in database.replicas.replicas:
                lag = instruments.replica_lag.labels(replica.name)
                lag.set_function(replica.reported_lag)
            background.append(asyncio.create_task(database.replicas.run(), name="replicas"))
        if settings.should_migrate_on_start():
            await upgrade_database(database.engine)
        app.state.database = database
        broadcast = await open_broadcast(settings.amqp_url, settings.live_exchange_name, breaker)
        app.state.live = LiveService(broadcast)
        cache = open_cache(settings.redis_url, settings.redis_key_prefix, breaker)
        artifacts_guard = None
        if settings.artifacts_url:
            artifacts_guard = artifact_store_guard(breaker, settings.artifacts_connect_deadline_s)
        app.state.artifacts_guard = artifacts_guard
        app.state.gateway = build_gateway(
            settings,
            database,
            cache,
            ReadThroughCache(cache, cache_stats, keep_last_known=not database.is_sqlite),
        )
        # Committed events: cached reads go stale first, then live views hear of the change;
        # with a broker, the outbox relay publishes them to `trackboard.events`.
        invalidation = CacheInvalidation(app.state.gateway.reads)
        database.events.subscribe("read-cache", invalidation.on_events)
        credentials = CredentialForgetting(app.state.gateway.authenticator)
        database.events.subscribe("credentials", credentials.on_events)
        database.events.subscribe("live", app.state.live.on_events)
        # Notifications: rules' test sends use the senders in every mode; the embedded
        # server (or one told to) also runs the notifier, fed by the outbox relay without
        # a broker, or by its own consumer of the notifier queue with one.
        senders = Senders.from_settings(settings)
        app.state.senders = senders
        notifier = None
        publisher: EventPublisher | None = None
        notifier_queue = None
        if settings.runs_notifier_in_process():
            notifier = build_notification_engine(settings, database, senders, instruments.registry)
            app.state.notifier = notifier
            background.append(asyncio.create_task(notifier.run(), name="notifier"))
            if settings.amqp_url:
                notifier_queue = await open_notifier_queue(settings)
                background.append(
                    asyncio.create_task(
                        consume_events(notifier_queue, notifier), name="notifier-queue"
                    )
                )
            else:
                publisher = HandlerEventPublisher(notifier.handle)
        relay: OutboxRelay | None = None
        if settings.amqp_url:
            relay = await open_broker_relay(settings, database, instruments.registry)
        elif publisher is not None:
            relay = attach_outbox_relay(
                database,
                publisher,
                poll_interval_s=settings.event_relay_poll_interval_s,
                retention_s=settings.event_outbox_retention_s,
            )
            relay.backlog_gauge = outbox_backlog_gauge(instruments.registry)
        if relay is not None:
            background.append(asyncio.create_task(relay.run(), name="event-relay"))
        # Metric batches: onto RabbitMQ for the workers, or to the in-process group-commit
        # writer, which answers each request after its commit.
        embedded_writer = settings.amqp_url is None
        queue = await open_ingest_queue(settings, instruments)
        ingestor = Ingestor(
            queue,
            instruments,
            waits_for_commit=embedded_writer,
            max_depth=settings.ingest_max_queue_depth,
            retry_after_s=settings.ingest_retry_after_s,
            commit_timeout_s=settings.ingest_commit_timeout_s,
        )
        # The runs that writes use are read again in the background, so a batch's run check
        # does not wait for the database (see `ingest.run_cache`).
        await ingestor.start(partial(refresh_runs_in_use, ingestor, database))
        app.state.ingestor = ingestor
        # Run writes taken while the database is unreachable wait here for the workers.
        replay_queue = await open_replay_queue(settings) if settings.amqp_url else None
        app.state.replay_queue = replay_queue

        def guarded() -> dict[str, CircuitBreaker]:
            found = {} if artifacts_guard is None else {"artifacts": artifacts_guard.breaker}
            if replay_queue is not None:  # its publishes have a breaker of their own
                found["rabbitmq:replay"] = replay_queue.guard.breaker
            if relay is not None and isinstance(relay.publisher, RabbitEventPublisher):
                found["rabbitmq:events"] = relay.publisher.guard.breaker
            if isinstance(broadcast, RabbitBroadcast):
                found["rabbitmq:live"] = broadcast.guard.breaker
            return {**found, **senders.breakers.breakers()}

        rabbit = queue.queue if isinstance(queue, EncodedQueue) else None
        app.state.dependencies = DependencyProbes.of(
            database,
            cache,
            queue if settings.amqp_url else None,
            rabbit.guard.breaker if isinstance(rabbit, RabbitQueue) else None,
            guarded,
        )
        probes = app.state.dependencies

        def record_dependencies(found: list[DependencyStatus]) -> None:
            instruments.dependencies.record((s.name, s.up) for s in found)

        record_dependencies(await probes.check())  # the first scrape has a state to show
        background.append(
            asyncio.create_task(
                probes.run(settings.dependency_probe_interval_s, record_dependencies),
                name="dependency-probes",
            )
        )
        # The metric routes' run check keeps runs a second; a change to one drops it at once.
        database.events.subscribe("ingest-run-cache", ingestor.runs.on_events)
        if embedded_writer:
            ingest_loop = build_ingest_loop(
                settings, queue, database, instruments, ingestor.written
            )
            app.state.ingest_loop = ingest_loop
            background.append(asyncio.create_task(ingest_loop.run(), name="ingest-writer"))
        # Everything built so far lives as long as the process: moving it out of the
        # collector's reach keeps full collections, which a page of 1,000 runs triggers
        # every few requests, from walking every module and route (100+ ms pauses).
        gc.freeze()
        try:
            yield
        finally:
            # Requests have finished (each waited for its commit): nothing is pending.
            await stop_tasks(background)
            await ingestor.stop()
            await queue.close()
            if replay_queue is not None:
                await replay_queue.close()
            await cache.close()
            await broadcast.close()
            if relay is not None:
                await relay.close()
            if notifier_queue is not None:
                await notifier_queue.close()
            await senders.aclose()
            await database.dispose()

    app = FastAPI(
        title="Trackboard",
        version=__version__,
        summary="Fast, MLflow-compatible ML experiment tracking",
        lifespan=lifespan,
        # The one authorization decision point, for every route (see gateway/access_policy).
        dependencies=[Depends(authorize)],
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.instruments = instruments
    install_error_handlers(app)
    # MLflow's one-point writes first: FastAPI tries routes in order (mlflow_compat.routes).
    # search before runs: /runs/search must not be taken for a run id.
    for router in (
        mlflow_hot_router,
        health_router,
        experiments_router,
        search_router,
        export_router,
        run_groups_router,
        compare_router,
        runs_router,
        metrics_router,
    ):
        app.include_router(router)
    app.include_router(live_router)
    app.include_router(mlflow_router)
    app.include_router(artifacts_router)
    app.include_router(run_artifacts_router)
    for router in (
        session_router,
        accounts_router,
        dashboard_stats_router,
        notifications_router,
        saved_views_router,
    ):
        app.include_router(router)
    mount_dashboard(app, STATIC_DIR)
    # Innermost, behind the gateway: a cookie write without its CSRF token stays a 403.
    app.add_middleware(
        RequestGuardMiddleware,
        allowed_hosts=HostAllowList.from_entries(settings.allowed_hosts, settings.host),
    )
    app.add_middleware(GatewayMiddleware)
    # Outside the gateway: an oversized body is refused before credentials cost argon2.
    app.add_middleware(
        BodyLimitMiddleware,
        limits=BodyLimits(settings.max_request_bytes, settings.max_artifact_bytes),
    )
    app.add_middleware(PrometheusMiddleware, instruments=instruments)
    app.add_middleware(ReadYourWritesMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on every answer, refusals too
    return app
