"""Live updates through the load balancer survive the loss of the instance holding the
WebSocket: Debian's nginx (the shipped config) in front of two `trackboard server`
processes, a worker, PostgreSQL and RabbitMQ; a run page open and live; that instance is
killed (SIGKILL); the page reconnects through nginx to the other one and keeps drawing the
points logged after the kill, without a reload."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.distributed.conftest import WorkerProcess, amqp_url, pg_url  # noqa: F401 (fixtures)
from tests.distributed.nginx_cluster import ApiProcess, Nginx, running
from tests.e2e.api import Api
from tests.live_server import free_port


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, amqp_url: str) -> Iterator[tuple[Nginx, list[ApiProcess]]]:  # noqa: F811
    env = {
        "TRACKBOARD_DATABASE_URL": pg_url,
        "TRACKBOARD_AMQP_URL": amqp_url,
        "TRACKBOARD_TRUSTED_PROXIES": "127.0.0.1",
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_LOG_JSON": "false",
    }
    servers = [ApiProcess(free_port(), env, tmp_path) for _ in range(2)]
    worker = WorkerProcess(pg_url, amqp_url, tmp_path, extra_env=env)
    nginx = Nginx(tmp_path / "nginx", servers)
    # The second instance joins the upstream only once the page is live: the socket is on
    # the first one, the one the test kills.
    nginx.down.add(servers[1].port)
    with running(nginx, [worker]):
        yield nginx, servers


async def test_the_run_page_keeps_updating_after_its_instance_is_killed(
    page: Page, cluster: tuple[Nginx, list[ApiProcess]]
) -> None:
    nginx, servers = cluster
    async with httpx.AsyncClient(base_url=nginx.url + "/api/v1", timeout=30) as client:
        api = Api(client)
        run_id = await api.run(await api.experiment(f"nginx-live-{uuid.uuid4().hex[:6]}"), "r")
        await api.log(run_id, "loss", [0, 1], [1.0, 0.9])

        await page.goto(f"{nginx.url}/runs/{run_id}")
        chart = page.locator('[data-testid="metric-chart"][data-key="loss"]')
        await expect(chart).to_have_attribute("data-points", "2", timeout=20_000)
        status = page.get_by_test_id("live-status")
        await expect(status).to_have_attribute("data-status", "open", timeout=10_000)
        await api.log(run_id, "loss", [2], [0.8])
        await expect(chart).to_have_attribute("data-points", "3", timeout=10_000)

        nginx.set_down(servers[1].port, False)
        servers[0].kill9()
        # The socket closed with its server; the page reconnects through nginx.
        await expect(status).not_to_have_attribute("data-status", "open", timeout=10_000)
        await api.log(run_id, "loss", [3], [0.7])  # the only instance left takes it
        await expect(status).to_have_attribute("data-status", "open", timeout=30_000)
        await expect(chart).to_have_attribute("data-points", "4", timeout=10_000)
        # Pushed live over the new socket, not read back by a reload or a poll.
        await page.wait_for_timeout(300)  # the server acknowledges the resubscription
        await api.log(run_id, "loss", [4], [0.6])
        await expect(chart).to_have_attribute("data-points", "5", timeout=3_000)
