"""Degraded reads with PostgreSQL cut (through a TCP proxy): what was read before answers
200 from the cache with `Trackboard-Degraded: true` and its age, on Redis shared by the
instances; what never was answers 503 with `Retry-After`, never 500."""

import uuid

import redis.asyncio as redis

from tests.distributed.conftest import with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from tests.services import REDIS_URL, require_service
from trackboard.server.config import Settings


async def test_reads_seen_before_answer_degraded_while_postgresql_is_cut(pg_url: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    prefix = f"tb-degraded-{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        database_url=with_port(pg_url, proxy.port),
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
        auth=True,
        rate_limit=False,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="CRITICAL",
        db_pool_size=2,
    )
    store = redis.Redis.from_url(REDIS_URL)
    try:
        async with running_app(settings) as (app, client):
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

            proxy.cut()
            # Let the cached entries expire as their TTLs would; last known values stay.
            for pattern in ("experiment*", "dashboard:*"):
                expired = [k async for k in store.scan_iter(match=f"{prefix}{pattern}")]
                assert expired
                await store.delete(*expired)
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

            proxy.restore()
            fresh = await client.get(f"/api/v1/runs/{run_id}", headers=key)
            assert fresh.status_code == 200
            assert "trackboard-degraded" not in fresh.headers
    finally:
        keys = [k async for k in store.scan_iter(match=f"{prefix}*")]
        if keys:
            await store.delete(*keys)
        await store.aclose()
        await proxy.close()
