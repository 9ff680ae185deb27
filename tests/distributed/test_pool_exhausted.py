"""Every pooled database connection busy (more concurrent work than connections): a request
waits the pool's timeout, then gets 503 with Retry-After in its door's error shape instead
of a 500; the breaker stays closed (an overload is not an outage), and requests go through
again as soon as a connection is free."""

import time

from tests.gateway.harness import running_app
from trackboard.server.backends.database import Database
from trackboard.server.config import Settings
from trackboard.server.errors import OVERLOAD_MESSAGE

POOL_TIMEOUT_S = 0.3


async def test_a_busy_pool_answers_503_with_retry_after_and_leaves_the_breaker_closed(
    pg_url: str,
) -> None:
    settings = Settings(
        database_url=pg_url,
        db_pool_size=1,  # one connection and one overflow
        db_pool_timeout_s=POOL_TIMEOUT_S,
        log_json=False,
        log_level="CRITICAL",
    )
    async with running_app(settings) as (app, client):
        database: Database = app.state.database
        async with database.engine.connect() as first, database.engine.connect() as second:
            await first.exec_driver_sql("SELECT 1")
            await second.exec_driver_sql("SELECT 1")
            started = time.perf_counter()
            v1 = await client.post("/api/v1/experiments", json={"name": "busy"})
            waited = time.perf_counter() - started
            assert v1.status_code == 503, v1.text
            assert v1.json()["error"]["code"] == "TEMPORARILY_UNAVAILABLE"
            assert v1.json()["error"]["message"] == OVERLOAD_MESSAGE  # not "unreachable"
            assert int(v1.headers["Retry-After"]) >= 1
            assert POOL_TIMEOUT_S <= waited < POOL_TIMEOUT_S + 5
            mlflow = await client.post(
                "/api/2.0/mlflow/experiments/create", json={"name": "busy-mlflow"}
            )
            assert mlflow.status_code == 503, mlflow.text
            assert mlflow.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert mlflow.json()["message"] == OVERLOAD_MESSAGE
            assert int(mlflow.headers["Retry-After"]) >= 1

        ready = (await client.get("/readyz")).json()["dependencies"]["database"]
        assert ready["up"] is True
        assert ready["breaker"] == "closed"
        created = await client.post("/api/v1/experiments", json={"name": "busy"})
        assert created.status_code in (200, 201), created.text
