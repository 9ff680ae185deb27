"""The primary database's breaker with PostgreSQL stalled (a TCP proxy that moves no byte:
a frozen server, a black-holed link): a request waits at most the connection deadline (and
the driver's bounded close of the stalled connection), and once the breaker is open none
waits at all (503 + `Retry-After` at once); a probe in the background closes it when
PostgreSQL answers again. Shown in `/readyz` and `/metrics`."""

import asyncio
import statistics
import time

from tests.distributed.proxied_settings import proxied_settings
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world

DEADLINE_S = 1.0


async def test_stalled_postgresql_costs_one_deadline_then_requests_fail_fast(
    pg_url: str,
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(
        pg_url, proxy.port, database_deadline_s=DEADLINE_S, breaker_reset_s=0.5
    )
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            key = bearer(world.keys["a_owner"])
            tags = f"/api/v1/runs/{world.runs['a']}/tags"
            threshold = settings.breaker_failure_threshold
            proxy.stall()
            latencies_ms = []
            for index in range(threshold + 20):
                started = time.perf_counter()
                response = await client.post(tags, json={"tags": {f"k{index}": "v"}}, headers=key)
                latencies_ms.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
            opening, open_ = latencies_ms[:threshold], latencies_ms[threshold:]
            print(
                f"PostgreSQL stalled: first {threshold} requests "
                f"{', '.join(f'{ms:.0f}' for ms in opening)} ms (deadline {DEADLINE_S:g} s); "
                f"then median {statistics.median(open_):.1f} ms, max {max(open_):.1f} ms"
            )
            # Past the deadline, SQLAlchemy closes the stalled connection within its own 2 s
            # (asyncpg's close, then terminate): the most one request can cost.
            assert all(ms < DEADLINE_S * 1000 + 2500 for ms in opening)
            # Nothing waits on the socket any more: milliseconds, far below the deadline (the
            # bound leaves room for a machine loaded by other tests).
            assert statistics.median(open_) < 50
            assert max(open_) < 250

            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["dependencies"]["database"]["breaker"] in ("open", "half_open")
            scraped = (await client.get("/metrics")).text
            assert 'trackboard_circuit_breaker_state{dependency="database"}' in scraped
            assert 'trackboard_dependency_failures_total{dependency="database"}' in scraped

            proxy.restore()
            deadline = time.monotonic() + 10
            status = 0
            while status != 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                response = await client.post(tags, json={"tags": {"after": "v"}}, headers=key)
                status = response.status_code
            assert status == 200, response.text
            ready = await client.get("/readyz")
            assert ready.json()["dependencies"]["database"]["breaker"] == "closed"
    finally:
        await proxy.close()


async def test_cut_postgresql_answers_503_at_once_and_opens_the_breaker(pg_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(pg_url, proxy.port)
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            key = bearer(world.keys["a_owner"])
            proxy.cut()
            for index in range(settings.breaker_failure_threshold + 1):
                response = await client.post(
                    f"/api/v1/runs/{world.runs['a']}/tags",
                    json={"tags": {f"k{index}": "v"}},
                    headers=key,
                )
                assert response.status_code == 503
                assert "retry-after" in response.headers
            ready = await client.get("/readyz")
            assert ready.json()["dependencies"]["database"]["breaker"] in ("open", "half_open")
    finally:
        await proxy.close()
