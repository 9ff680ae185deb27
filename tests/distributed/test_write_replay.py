"""The write replay queue: with PostgreSQL cut (through a TCP proxy) and RabbitMQ there, a
run's creation, params, tags and final status are answered 202 and queued; once the
database is back a worker replays them in order, each stored once even when sent twice."""

import asyncio
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.distributed.proxied_settings import proxied_settings
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from tests.live_server import serving
from trackboard.server.backends.queue import RabbitQueue
from trackboard.server.worker import run_worker

POINTS = 1_000
SCRIPT = textwrap.dedent(
    f"""
    import sys
    import trackboard

    run = trackboard.init(experiment="replayed", config={{"lr": 0.01}}, tags={{"team": "ops"}})
    run.log({{"loss": 1.0}}, step=0)
    run.flush(timeout=30)  # the API's run check has read the run (and uses it meanwhile)
    print(run.id, flush=True)
    sys.stdin.readline()  # the test has cut the database
    for step in range(1, {POINTS}):
        run.log({{"loss": 1.0 / (step + 1)}}, step=step)
    run.log_params({{"layers": 4}})
    run.set_tags({{"phase": "done"}})
    run.finish()
    print("finished", flush=True)
    """
)


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
    settings = proxied_settings(
        pg_url, proxy.port, amqp_url=amqp_url, ingest_commit_timeout_s=2.0, worker_metrics_port=0
    )
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


async def test_a_python_client_script_finishes_while_the_database_is_still_cut(
    pg_url: str, amqp_url: str, tmp_path: Path
) -> None:
    """Its params, tags and final status are answered 202 like its points: the script is
    done before the database returns, and everything is stored once the worker replayed."""
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(
        pg_url, proxy.port, amqp_url=amqp_url, auth=False, worker_metrics_port=0
    )
    env = {
        **os.environ,
        "TRACKBOARD_HOME": str(tmp_path / "client"),
        "TRACKBOARD_RETRY_MAX_DELAY": "1",
        "TRACKBOARD_FINISH_TIMEOUT": "3",
    }
    try:
        async with running_app(settings) as (app, client), serving(app) as url:
            # A worker all along: through the cut it holds the queued writes, unacked, and
            # retries them until the database takes them.
            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(settings, stop))
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    SCRIPT,
                    env={**env, "TRACKBOARD_URL": url},
                    cwd=tmp_path,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                assert process.stdin is not None
                assert process.stdout is not None
                line = await asyncio.wait_for(process.stdout.readline(), 120)
                run_id = line.decode().strip()
                proxy.cut()
                process.stdin.write(b"go\n")
                await process.stdin.drain()
                output, _ = await asyncio.wait_for(process.communicate(), 120)
                assert process.returncode == 0
                assert output.decode().splitlines()[-1] == "finished"
                still_cut = await client.get(f"/api/v1/runs/{run_id}")
                assert still_cut.status_code == 503
                proxy.restore()

                run = await replayed(client, f"/api/v1/runs/{run_id}", {})
                deadline = time.monotonic() + 30
                while (steps := await stored_steps(client, run_id)) != list(range(POINTS)):
                    assert time.monotonic() < deadline, f"{len(steps)} points stored"
                    await asyncio.sleep(0.2)
            finally:
                stop.set()
                await asyncio.wait_for(worker, 30)
            assert run["params"] == {"lr": "0.01", "layers": "4"}
            assert run["tags"]["team"] == "ops"
            assert run["tags"]["phase"] == "done"
    finally:
        await proxy.close()


async def stored_steps(client: httpx.AsyncClient, run_id: str) -> list[int]:
    history = await client.get(f"/api/v1/runs/{run_id}/metrics/loss", params={"format": "columns"})
    if history.status_code != 200:
        return []
    steps: list[int] = history.json()["steps"]
    return steps
