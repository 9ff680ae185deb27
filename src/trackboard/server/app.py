"""Composition root of the API: `create_app(settings)` builds the backends at start-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from trackboard._version import __version__
from trackboard.server.backends.database import Database
from trackboard.server.config import Settings
from trackboard.server.experiments.routes import router as experiments_router
from trackboard.server.gateway.error_handlers import install_error_handlers
from trackboard.server.health.routes import router as health_router
from trackboard.server.metrics.routes import router as metrics_router
from trackboard.server.migrate import upgrade_database
from trackboard.server.observability.logging import RequestIdMiddleware, configure_logging
from trackboard.server.observability.prometheus import Instruments, PrometheusMiddleware
from trackboard.server.runs.routes import router as runs_router
from trackboard.server.search.routes import router as search_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    instruments = Instruments()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_json)
        if settings.is_embedded:
            settings.home.mkdir(parents=True, exist_ok=True)
        database = Database.connect(settings.resolved_database_url(), settings.db_pool_size)
        if settings.should_migrate_on_start():
            await upgrade_database(database.engine)
        app.state.database = database
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(
        title="Trackboard",
        version=__version__,
        summary="Fast, MLflow-compatible ML experiment tracking",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.instruments = instruments
    install_error_handlers(app)
    # search before runs: /runs/search must not be taken for a run id.
    for router in (
        health_router,
        experiments_router,
        search_router,
        runs_router,
        metrics_router,
    ):
        app.include_router(router)
    app.add_middleware(PrometheusMiddleware, instruments=instruments)
    app.add_middleware(RequestIdMiddleware)
    return app
