"""The load balancer: Debian's nginx with the shipped config in front of 3 API servers,
2 workers and a notifier, on the real PostgreSQL, Redis and RabbitMQ. A constant-arrival mix
of dashboard reads, searches, metric batches and run creations runs through nginx while one
instance is killed (SIGKILL), then while all three are restarted one by one."""

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.distributed.conftest import WorkerProcess, wait_for_points
from tests.distributed.nginx_cluster import ApiProcess, Nginx, running
from tests.live_server import free_port
from tests.services import REDIS_URL, require_service

RATE_PER_S = 80
POINTS_PER_BATCH = 100
RUNS = 5


async def request(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> httpx.Response:
    """One request, sent again once if a kept-alive connection was closed or reset before any
    answer came (nginx's old workers close their idle connections on a reload, racing a
    request already on its way): what browsers and HTTP clients do (RFC 9112, 9.3.1). Every
    request of the mix may be repeated: reads, searches, and writes carrying an idempotency
    key (batch id, run id)."""
    try:
        return await client.request(method, path, json=body)
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return await client.request(method, path, json=body)


@dataclass
class Load:
    """Requests sent at a constant rate, whatever the answers; what each got."""

    url: str
    experiment_id: int
    run_ids: list[str]
    # (kind, sent at, status or 0 for a transport error, seconds)
    outcomes: list[tuple[str, float, int, float]] = field(default_factory=list)
    batches: int = 0
    retried_batches: int = 0
    created_runs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def request_for(self, tick: int) -> tuple[str, str, str, dict[str, object] | None]:
        run_id = self.run_ids[tick % len(self.run_ids)]
        slot = tick % 10
        if slot <= 3:
            paths = [
                "/api/v1/experiments",
                f"/api/v1/runs/{run_id}",
                f"/api/v1/experiments/{self.experiment_id}/dashboard",
                f"/api/v1/runs/{run_id}/metrics/loss?max_points=500",
            ]
            return "read", "GET", paths[slot], None
        if slot <= 5:
            body = {
                "experiment_ids": [self.experiment_id],
                "filter": "metrics.loss >= 0",
                "order_by": ["metrics.loss ASC"],
                "limit": 50,
            }
            return "search", "POST", "/api/v1/runs/search", body
        if slot <= 8:
            first = self.batches * POINTS_PER_BATCH
            self.batches += 1
            steps = list(range(first, first + POINTS_PER_BATCH))
            body = {
                "batch_id": f"b-{first}",
                "columns": [{"key": "loss", "steps": steps, "values": [1.0] * len(steps)}],
            }
            return "batch", "POST", f"/api/v1/runs/{self.run_ids[0]}/metrics", body
        new_id = uuid.uuid4().hex
        self.created_runs.append(new_id)
        return "create", "POST", f"/api/v1/experiments/{self.experiment_id}/runs", {"id": new_id}

    async def send(
        self, client: httpx.AsyncClient, kind: str, method: str, path: str, body: object
    ) -> None:
        sent = time.monotonic()
        try:
            response = await request(client, method, path, body)
            status = response.status_code
        except httpx.HTTPError as error:
            status = 0
            self.errors.append(repr(error))
        self.outcomes.append((kind, sent, status, time.monotonic() - sent))
        if kind in ("batch", "create") and not 200 <= status < 300:
            # The SDK's way: the same batch id or run id again until it is taken.
            self.retried_batches += kind == "batch"
            for _ in range(100):
                await asyncio.sleep(0.2)
                try:
                    again = await client.request(method, path, json=body)
                except httpx.HTTPError:
                    continue
                if 200 <= again.status_code < 300:
                    return
            raise AssertionError(f"{method} {path} never succeeded")

    async def run(self, seconds: float, during: object = None) -> None:
        """Send for `seconds` at RATE_PER_S; `during(elapsed)` is called every tick."""
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            tasks: list[asyncio.Task[None]] = []
            start = time.monotonic()
            tick = 0
            while (elapsed := time.monotonic() - start) < seconds:
                kind, method, path, body = self.request_for(tick)
                tasks.append(asyncio.create_task(self.send(client, kind, method, path, body)))
                if callable(during):
                    await during(elapsed)
                tick += 1
                await asyncio.sleep(max(0.0, start + tick / RATE_PER_S - time.monotonic()))
            await asyncio.gather(*tasks)

    def failures(self, since: float = 0.0) -> list[tuple[str, float, int, float]]:
        return [o for o in self.outcomes if o[1] >= since and not 200 <= o[2] < 300]

    def p99_ms(self) -> float:
        latencies = sorted(o[3] for o in self.outcomes)
        return latencies[int(0.99 * (len(latencies) - 1))] * 1000


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, amqp_url: str) -> Iterator[tuple[Nginx, list[ApiProcess]]]:
    require_service("Redis", "127.0.0.1", 6379)
    env = {
        "TRACKBOARD_DATABASE_URL": pg_url,
        "TRACKBOARD_AMQP_URL": amqp_url,
        "TRACKBOARD_REDIS_URL": REDIS_URL,
        "TRACKBOARD_REDIS_KEY_PREFIX": f"tb-nginx-{uuid.uuid4().hex[:8]}:",
        "TRACKBOARD_TRUSTED_PROXIES": "127.0.0.1",
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_LOG_JSON": "false",
        "TRACKBOARD_NOTIFIER_METRICS_PORT": "0",
    }
    servers = [ApiProcess(free_port(), env, tmp_path) for _ in range(3)]
    helpers = [
        WorkerProcess(pg_url, amqp_url, tmp_path, extra_env=env),
        WorkerProcess(pg_url, amqp_url, tmp_path, extra_env=env),
        WorkerProcess(pg_url, amqp_url, tmp_path, command="notifier", extra_env=env),
    ]
    nginx = Nginx(tmp_path / "nginx", servers)
    with running(nginx, helpers):
        yield nginx, servers


async def prepare(url: str) -> tuple[int, list[str]]:
    async with httpx.AsyncClient(base_url=url) as client:
        experiment = await client.post("/api/v1/experiments", json={"name": uuid.uuid4().hex})
        experiment_id = experiment.json()["id"]
        runs = []
        for _ in range(RUNS):
            created = await client.post(f"/api/v1/experiments/{experiment_id}/runs", json={})
            runs.append(created.json()["id"])
    return experiment_id, runs


async def test_an_instance_killed_under_load_loses_no_point_and_fails_few_requests(
    cluster: tuple[Nginx, list[ApiProcess]], pg_url: str
) -> None:
    nginx, servers = cluster
    experiment_id, runs = await prepare(nginx.url)
    load = Load(nginx.url, experiment_id, runs)
    killed_at: list[float] = []

    async def kill_one(elapsed: float) -> None:
        if elapsed >= 6.0 and not killed_at:
            killed_at.append(time.monotonic())
            servers[1].kill9()

    await load.run(15.0, kill_one)
    failures = load.failures()
    total = len(load.outcomes)
    print(
        f"{total} requests through nginx, {len(failures)} failed "
        f"({100 * len(failures) / total:.2f} %), p99 {load.p99_ms():.0f} ms, "
        f"{load.retried_batches} batches retried by the client"
    )
    assert len(failures) <= 0.01 * total, failures
    # Only requests sent before the kill (in flight on that instance) may fail.
    assert all(sent <= killed_at[0] + 0.1 for _, sent, _, _ in failures), failures
    expected = load.batches * POINTS_PER_BATCH
    assert await wait_for_points(pg_url, expected, 60.0) == expected  # none lost or doubled
    async with httpx.AsyncClient(base_url=nginx.url) as client:
        for run_id in load.created_runs:
            assert (await client.get(f"/api/v1/runs/{run_id}")).status_code == 200


async def test_a_rolling_restart_fails_no_request(
    cluster: tuple[Nginx, list[ApiProcess]], pg_url: str
) -> None:
    nginx, servers = cluster
    experiment_id, runs = await prepare(nginx.url)
    load = Load(nginx.url, experiment_id, runs)
    loop = asyncio.get_running_loop()

    async def restart_all() -> None:
        await asyncio.sleep(2.0)
        for server in servers:
            await loop.run_in_executor(None, nginx.set_down, server.port, True)
            await loop.run_in_executor(None, server.stop)
            await loop.run_in_executor(None, server.start)
            await loop.run_in_executor(None, nginx.set_down, server.port, False)

    restarting = asyncio.create_task(restart_all())
    await load.run(2.0)
    while not restarting.done():
        await load.run(2.0)
    await restarting
    failures = load.failures()
    latencies = [o[3] for o in load.outcomes]
    print(
        f"rolling restart: {len(load.outcomes)} requests, {len(failures)} failed, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {load.p99_ms():.0f} ms"
    )
    assert failures == [], load.errors
    assert all(server.starts == 2 for server in servers)
