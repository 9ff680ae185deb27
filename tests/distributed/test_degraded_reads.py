"""Degraded reads with PostgreSQL cut (through a TCP proxy): what was read before answers
200 from the cache with `Trackboard-Degraded: true` and its age, on Redis shared by the
instances; what never was answers 503 with `Retry-After`, never 500."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as redis
from fastapi import FastAPI
from httpx import Response

from tests.distributed.proxied_settings import proxied_settings
from tests.distributed.recovery import until_served
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from tests.services import REDIS_URL, require_service


@dataclass
class Behind:
    """An app on PostgreSQL behind a TCP proxy, with Redis under a prefix of its own."""

    proxy: TcpProxy
    store: redis.Redis
    prefix: str


@asynccontextmanager
async def app_behind_a_proxy(
    pg_url: str,
) -> AsyncIterator[tuple[Behind, FastAPI, httpx.AsyncClient]]:
    require_service("Redis", "127.0.0.1", 6379)
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    prefix = f"tb-degraded-{uuid.uuid4().hex[:8]}:"
    settings = proxied_settings(pg_url, proxy.port, redis_url=REDIS_URL, redis_key_prefix=prefix)
    store = redis.Redis.from_url(REDIS_URL)
    try:
        async with running_app(settings) as (app, client):
            yield Behind(proxy, store, prefix), app, client
    finally:
        keys = [k async for k in store.scan_iter(match=f"{prefix}*")]
        if keys:
            await store.delete(*keys)
        await store.aclose()
        await proxy.close()


async def test_reads_seen_before_answer_degraded_while_postgresql_is_cut(pg_url: str) -> None:
    async with app_behind_a_proxy(pg_url) as (behind, app, client):
        world = await seed_world(app, client)
        key = bearer(world.keys["a_owner"])
        experiment_id, run_id = world.experiments["a"], world.runs["a"]
        search = {"experiment_ids": [experiment_id], "order_by": ["start_time DESC"]}
        reads = [
            ("GET", "/api/v1/experiments", None),
            ("GET", f"/api/v1/experiments/{experiment_id}", None),
            ("GET", f"/api/v1/experiments/{experiment_id}/dashboard", None),
            ("GET", f"/api/v1/runs/{run_id}", None),
            ("POST", "/api/v1/runs/search", search),
        ]
        before = {}
        for method, path, body in reads:
            response = await client.request(method, path, json=body, headers=key)
            assert response.status_code == 200, (path, response.text)
            assert "trackboard-degraded" not in response.headers
            before[path] = response.json()

        behind.proxy.cut()
        # Let the cached entries expire as their TTLs would; last known values stay.
        for pattern in ("experiment*", "dashboard:*"):
            expired = [k async for k in behind.store.scan_iter(match=f"{behind.prefix}{pattern}")]
            assert expired
            await behind.store.delete(*expired)
        for method, path, body in reads:
            response = await client.request(method, path, json=body, headers=key)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["trackboard-degraded"] == "true", path
            assert int(response.headers["age"]) >= 0
            assert response.json() == before[path], path
        # Never read before: nothing to stand in for it.
        other = await client.post(
            "/api/v1/runs/search",
            json={"experiment_ids": [experiment_id], "filter": "params.x = '1'"},
            headers=key,
        )
        assert other.status_code == 503
        assert "retry-after" in other.headers
        scraped = (await client.get("/metrics")).text
        assert 'trackboard_cache_stale_served_total{cache="run"} 1.0' in scraped

        behind.proxy.restore()
        fresh = await until_served(client, f"/api/v1/runs/{run_id}", key)
        assert fresh.status_code == 200
        assert "trackboard-degraded" not in fresh.headers


async def test_mlflow_reads_and_histories_seen_before_answer_degraded(pg_url: str) -> None:
    """MLflow's read endpoints and v1 metric history use the same last known values: 200 +
    `Trackboard-Degraded` for what was read before the cut, 503 + `Retry-After` in MLflow's
    error shape for what was not."""
    async with app_behind_a_proxy(pg_url) as (behind, app, client):
        world = await seed_world(app, client)
        key = bearer(world.keys["a_owner"])
        experiment_id, run_id = str(world.experiments["a"]), world.runs["a"]
        mlflow = "/api/2.0/mlflow"
        logged = await client.post(
            f"{mlflow}/runs/log-metric",
            json={"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0},
            headers=key,
        )
        assert logged.status_code == 200, logged.text
        name = (await client.get(f"/api/v1/experiments/{experiment_id}", headers=key)).json()[
            "name"
        ]
        search: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": 10}
        reads: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", f"{mlflow}/experiments/get", {"experiment_id": experiment_id}),
            # Authorized by the name's last known experiments while the database is away.
            ("GET", f"{mlflow}/experiments/get-by-name", {"experiment_name": name}),
            ("POST", f"{mlflow}/experiments/search", {"max_results": 10}),
            ("GET", f"{mlflow}/runs/get", {"run_id": run_id}),
            ("POST", f"{mlflow}/runs/search", search),
            ("GET", f"{mlflow}/metrics/get-history", {"run_id": run_id, "metric_key": "loss"}),
            ("GET", f"/api/v1/runs/{run_id}/metrics/loss", None),
        ]

        async def read(method: str, path: str, query: dict[str, Any] | None) -> Response:
            if method == "GET":
                return await client.get(path, params=query, headers=key)
            return await client.post(path, json=query, headers=key)

        before = {}
        for method, path, query in reads:
            response = await read(method, path, query)
            assert response.status_code == 200, (path, response.text)
            assert "trackboard-degraded" not in response.headers
            before[path] = response.json()
        assert before[f"{mlflow}/metrics/get-history"]["metrics"][0]["value"] == 0.5

        behind.proxy.cut()
        for method, path, query in reads:
            response = await read(method, path, query)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["trackboard-degraded"] == "true", path
            assert int(response.headers["age"]) >= 0
            assert response.json() == before[path], path
        # A name never resolved before: nothing to go on, 503.
        by_name = await read(
            "GET", f"{mlflow}/experiments/get-by-name", {"experiment_name": name + "-never-read"}
        )
        assert by_name.status_code == 503
        assert "retry-after" in by_name.headers
        # Never read before: MLflow's error shape, a 503 its client retries.
        other = await client.get(
            f"{mlflow}/metrics/get-history",
            params={"run_id": run_id, "metric_key": "acc"},
            headers=key,
        )
        assert other.status_code == 503
        assert "retry-after" in other.headers
        assert other.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
