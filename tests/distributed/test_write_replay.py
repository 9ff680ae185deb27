"""The write replay queue: with PostgreSQL cut (through a TCP proxy) and RabbitMQ there, a
run's creation, params, tags and final status are answered 202 and queued; once the
database is back a worker replays them in order, each stored once even when sent twice."""

import asyncio
import time
import uuid
from typing import Any

import httpx

from tests.distributed.proxied_settings import proxied_settings
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from trackboard.server.backends.queue import RabbitQueue
from trackboard.server.worker import run_worker


def run_writes(experiment_id: int, run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A training script's writes, in its order: the status comes last."""
    return [
        (
            "POST",
            f"/api/v1/experiments/{experiment_id}/runs",
            {"id": run_id, "name": "offline", "params": {"lr": "0.1"}, "tags": {"team": "ops"}},
        ),
        ("POST", f"/api/v1/runs/{run_id}/params", {"params": {"layers": "4"}, "request_id": "p1"}),
        ("POST", f"/api/v1/runs/{run_id}/tags", {"tags": {"phase": "train"}, "request_id": "t1"}),
        ("POST", f"/api/v1/runs/{run_id}/tags", {"tags": {"phase": "done"}, "request_id": "t2"}),
        (
            "PATCH",
            f"/api/v1/runs/{run_id}",
            {"status": "FINISHED", "end_time": 1_700_000_000_000, "request_id": "s1"},
        ),
    ]


async def replayed(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    """The run once its queued status is applied (polled for at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        response = await client.get(path, headers=headers)
        if response.status_code == 200 and response.json()["status"] == "FINISHED":
            return response.json()
        assert time.monotonic() < deadline, f"not replayed: {response.status_code} {response.text}"
        await asyncio.sleep(0.2)


async def test_run_writes_during_a_database_cut_are_replayed_once_in_order(
    pg_url: str, amqp_url: str
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(pg_url, proxy.port, amqp_url=amqp_url, ingest_commit_timeout_s=2.0)
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            owner = bearer(world.keys["a_owner"])
            experiment_id = world.experiments["a"]
            seen = await client.get(f"/api/v1/experiments/{experiment_id}", headers=owner)
            assert seen.status_code == 200
            run_id = uuid.uuid4().hex
            writes = run_writes(experiment_id, run_id)
            proxy.cut()
            # Each write twice, as a client does whose answer was lost: the copy is harmless.
            for method, path, body in writes + writes:
                answer = await client.request(method, path, json=body, headers=owner)
                assert answer.status_code == 202, (method, path, answer.status_code, answer.text)
                assert answer.json()["run_id"] == run_id
            assert answer.json()["request_id"] == "s1"
            # Nothing is read as if it were stored: the run is not there yet.
            assert (await client.get(f"/api/v1/runs/{run_id}", headers=owner)).status_code == 503
            proxy.restore()

            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(settings, stop))
            try:
                run = await replayed(client, f"/api/v1/runs/{run_id}", owner)
            finally:
                stop.set()
                await asyncio.wait_for(worker, 30)
            assert run["name"] == "offline"
            assert run["params"] == {"lr": "0.1", "layers": "4"}
            # t1, t2, then the copies of t1 and t2, which change nothing: "done" stays.
            assert run["tags"]["phase"] == "done"
            assert run["tags"]["team"] == "ops"
            assert run["end_time"] == 1_700_000_000_000

            queue = await RabbitQueue.connect(amqp_url, settings.replay_queue_name)
            try:
                assert await queue.depth() == 0
                assert await queue.dead_letter_depth() == 0  # nothing refused
            finally:
                await queue.close()
            # Once it is back, the same writes are answered at once and change nothing.
            for method, path, body in writes[1:]:
                again = await client.request(method, path, json=body, headers=owner)
                assert again.status_code == 200, (method, path, again.text)
            finished = (await client.get(f"/api/v1/runs/{run_id}", headers=owner)).json()
            assert finished == run
    finally:
        await proxy.close()


async def test_without_a_broker_run_writes_get_503_with_retry_after(pg_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(pg_url, proxy.port, auth=False)
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            writes = run_writes(world.experiments["a"], uuid.uuid4().hex)
            proxy.cut()
            for method, path, body in writes:
                answer = await client.request(method, path, json=body)
                assert answer.status_code == 503, (method, path, answer.text)
                assert "Retry-After" in answer.headers
    finally:
        await proxy.close()
