"""A point logged through one instance shows up, live, on a page served by another.

Two `trackboard server` processes and a `trackboard worker` share one SQLite file and the
real RabbitMQ on 127.0.0.1:5672 (queue and exchange names unique to this test, removed
afterwards): the batch goes API B → queue → worker → commit → broker → API A → browser.
"""

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.api import Api
from tests.e2e.live import live_or_skip
from tests.e2e.servers import ServerProcess, WorkerProcess

AMQP_URL = os.environ.get("TRACKBOARD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def broker_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


async def remove_broker_objects(queue: str, exchange: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in (queue, f"{queue}.dead"):
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange)


class Cluster:
    def __init__(self, a: ServerProcess, b: ServerProcess) -> None:
        self.a = a
        self.b = b


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    if not broker_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672")
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    suffix = uuid.uuid4().hex[:12]
    queue, exchange = f"trackboard.e2e.{suffix}", f"trackboard.e2e.live.{suffix}"
    env = {
        "TRACKBOARD_AMQP_URL": AMQP_URL,
        "TRACKBOARD_INGEST_QUEUE_NAME": queue,
        "TRACKBOARD_LIVE_EXCHANGE_NAME": exchange,
        "TRACKBOARD_WORKER_METRICS_PORT": "0",
    }
    started: list[ServerProcess | WorkerProcess] = []
    try:
        a = ServerProcess(tmp_path, tmp_path / "server-a.log", env)
        started.append(a)
        b = ServerProcess(tmp_path, tmp_path / "server-b.log", env)
        started.append(b)
        started.append(WorkerProcess(tmp_path, tmp_path / "worker.log", env))
        yield Cluster(a, b)
    finally:
        for process in reversed(started):
            process.stop()
        await remove_broker_objects(queue, exchange)


async def test_a_point_logged_through_another_instance_appears_within_2_s(
    page: Page, cluster: Cluster
) -> None:
    async with httpx.AsyncClient(base_url=cluster.b.base_url + "/api/v1", timeout=30) as client:
        api = Api(client)
        run_id = await api.run(await api.experiment("cross-instance"), "far-away")
        await api.log(run_id, "loss", [0, 1], [1.0, 0.9])

        await page.goto(f"{cluster.a.base_url}/runs/{run_id}")
        chart = page.locator('[data-testid="metric-chart"][data-key="loss"]')
        await expect(chart).to_have_attribute("data-points", "2", timeout=20_000)
        await live_or_skip(page)

        # The first batch also warms the worker up; the second is the one timed.
        await api.log(run_id, "loss", [2], [0.8])
        await expect(chart).to_have_attribute("data-points", "3", timeout=20_000)
        await api.log(run_id, "loss", [3], [0.7])
        await expect(chart).to_have_attribute("data-points", "4", timeout=2_000)
