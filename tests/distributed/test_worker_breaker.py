"""The worker's and the notifier's database access behind the breaker: with PostgreSQL
stalled (a TCP proxy that stops moving bytes) their queries fail within the deadline, the
breaker opens and their `/metrics` say so; once PostgreSQL moves again the breaker closes
and the worker stores the queued points, once."""

import asyncio
import time
import uuid
from pathlib import Path

import httpx

from tests.distributed.conftest import distributed_settings, with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import running_app
from tests.live_server import free_port
from trackboard.server.notifier import run_notifier
from trackboard.server.worker import run_worker

STATE = 'trackboard_circuit_breaker_state{dependency="database"}'


async def scraped(port: int) -> str:
    """The process's `/metrics`, or "" while it does not answer."""
    async with httpx.AsyncClient() as scraper:
        try:
            return (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
        except httpx.TransportError:
            return ""


async def breaker_state(port: int) -> float | None:
    for line in (await scraped(port)).splitlines():
        if line.startswith(STATE):
            return float(line.split()[-1])
    return None


async def test_a_stalled_database_opens_the_workers_breaker_and_loses_nothing(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    api_settings = distributed_settings(tmp_path, pg_url, amqp_url)
    metrics_port = free_port()
    worker_settings = api_settings.model_copy(
        update={
            "database_url": with_port(pg_url, proxy.port),
            "database_deadline_s": 1.0,
            "worker_metrics_port": metrics_port,
        }
    )
    stop = asyncio.Event()
    try:
        async with running_app(api_settings) as (_app, client):
            experiment = await client.post("/api/v1/experiments", json={"name": "stall"})
            experiment_id = experiment.json()["id"]
            run_id = uuid.uuid4().hex
            created = await client.post(
                f"/api/v1/experiments/{experiment_id}/runs", json={"id": run_id}
            )
            assert created.status_code == 201, created.text
            worker = asyncio.create_task(run_worker(worker_settings, stop))
            try:
                proxy.stall()
                for step in range(5):
                    body = {
                        "batch_id": f"b{step}",
                        "metrics": [{"key": "x", "value": 1.0, "step": step}],
                    }
                    sent = await client.post(f"/api/v1/runs/{run_id}/metrics", json=body)
                    assert sent.status_code == 202, sent.text
                deadline = time.monotonic() + 30
                while await breaker_state(metrics_port) != 2.0:  # open
                    assert time.monotonic() < deadline, "the worker's breaker never opened"
                    await asyncio.sleep(0.2)
                proxy.restore()
                deadline = time.monotonic() + 30
                while True:
                    history = await client.get(
                        f"/api/v1/runs/{run_id}/metrics/x", params={"format": "columns"}
                    )
                    if history.status_code == 200 and len(history.json()["steps"]) == 5:
                        break
                    assert time.monotonic() < deadline, f"not stored: {history.text[:200]}"
                    await asyncio.sleep(0.2)
                assert history.json()["steps"] == [0, 1, 2, 3, 4]
                assert await breaker_state(metrics_port) == 0.0  # closed again
                exported = await scraped(metrics_port)
                assert "trackboard_replay_queue_depth 0.0" in exported
                assert "trackboard_replay_dead_letter_depth 0.0" in exported
            finally:
                stop.set()
                await asyncio.wait_for(worker, 30)
    finally:
        await proxy.close()


async def test_a_stalled_database_opens_the_notifiers_breaker_until_it_is_back(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    """The notifier polls its due deliveries every second: with PostgreSQL stalled each
    poll costs at most the deadline until the breaker opens, and it closes once PostgreSQL
    answers again."""
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    metrics_port = free_port()
    settings = distributed_settings(tmp_path, pg_url, amqp_url).model_copy(
        update={
            "database_url": with_port(pg_url, proxy.port),
            "database_deadline_s": 1.0,
            "notifier_metrics_port": metrics_port,
        }
    )
    stop = asyncio.Event()
    notifier = asyncio.create_task(run_notifier(settings, stop))
    try:
        deadline = time.monotonic() + 30
        while await breaker_state(metrics_port) != 0.0:  # serving, closed
            assert time.monotonic() < deadline, "the notifier did not start"
            await asyncio.sleep(0.2)
        proxy.stall()
        deadline = time.monotonic() + 30
        while await breaker_state(metrics_port) != 2.0:
            assert time.monotonic() < deadline, "the notifier's breaker never opened"
            await asyncio.sleep(0.2)
        proxy.restore()
        deadline = time.monotonic() + 30
        while await breaker_state(metrics_port) != 0.0:
            assert time.monotonic() < deadline, "the notifier's breaker never closed"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(notifier, 30)
        await proxy.close()
