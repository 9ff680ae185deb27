"""Redis stalled (connections open, no byte moving) behind a TCP proxy: API-key requests go
on without it, at most ~100 ms slower at p99 (deadlines, then the circuit breaker);
`/readyz` and Prometheus say Redis is down and its breaker open, and closed once it is back."""

import asyncio
import time
import uuid

from tests.distributed.conftest import with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from tests.services import REDIS_URL, require_service
from trackboard.server.config import Settings


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[int(0.99 * (len(ordered) - 1))]


async def test_a_stalled_redis_adds_little_latency(pg_url: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    settings = Settings(
        database_url=pg_url,
        redis_url=with_port(REDIS_URL, proxy.port),
        redis_key_prefix=f"tb-stall-{uuid.uuid4().hex[:8]}:",
        auth=True,
        rate_limit=True,
        rate_limit_read_per_s=10_000,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="CRITICAL",
    )
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            key = bearer(world.keys["a_viewer"])

            async def timed(count: int) -> list[float]:
                took = []
                for _ in range(count):
                    start = time.perf_counter()
                    response = await client.get("/api/v1/experiments", headers=key)
                    took.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text
                return took

            await timed(20)  # warm: identity and reads cached in Redis
            before = await timed(200)
            proxy.stall()
            during = await timed(200)
            added = p99(during) - p99(before)
            print(
                f"p99 {p99(before) * 1000:.0f} ms before, {p99(during) * 1000:.0f} ms with "
                f"Redis stalled (added {added * 1000:.0f} ms)"
            )
            assert added <= 0.1

            # This instance stays ready (Redis accelerates), and says what is wrong.
            started = time.perf_counter()
            ready = await client.get("/readyz")
            assert time.perf_counter() - started < 3.0  # the probe's deadline, not a hang
            assert ready.status_code == 200
            redis = ready.json()["dependencies"]["redis"]
            assert redis["up"] is False
            assert redis["required"] is False
            assert redis["breaker"] in {"open", "half_open"}
            assert ready.json()["dependencies"]["database"]["up"] is True
            scraped = (await client.get("/metrics")).text
            assert 'trackboard_dependency_up{dependency="redis"} 0.0' in scraped
            assert 'trackboard_dependency_up{dependency="database"} 1.0' in scraped
            # Open (2), or half-open (1) while the background ping probes the stalled Redis.
            assert (
                'trackboard_circuit_breaker_state{dependency="redis"} 2.0' in scraped
                or 'trackboard_circuit_breaker_state{dependency="redis"} 1.0' in scraped
            )
            failures = [
                line
                for line in scraped.splitlines()
                if line.startswith('trackboard_dependency_failures_total{dependency="redis"}')
            ]
            assert failures
            assert float(failures[0].split()[-1]) >= 3

            proxy.restore()
            # After the breaker's pause a probe goes through and closes it again.
            deadline = time.monotonic() + 15
            redis = {}
            while time.monotonic() < deadline:
                redis = (await client.get("/readyz")).json()["dependencies"]["redis"]
                if redis["up"] and redis["breaker"] == "closed":
                    break
                await asyncio.sleep(0.5)
            assert redis["up"] is True, redis
            assert redis["breaker"] == "closed", redis
    finally:
        await proxy.close()
