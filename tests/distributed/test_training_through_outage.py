"""Training scripts survive a PostgreSQL outage: the Python client (params, tags, 100,000
points, final status) keeps what the server cannot take yet and sends it again, MLflow's
client retries the 503s, and once the database is back everything is stored exactly
once. PostgreSQL is cut through a TCP proxy for a few seconds in the middle of the work."""

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.distributed.conftest import with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import running_app
from tests.live_server import serving
from trackboard.server.config import Settings

POINTS = 100_000
MLFLOW_STEPS = 50
MLFLOW_SCRIPT = textwrap.dedent(
    f"""
    import sys
    import mlflow

    mlflow.set_experiment("outage-mlflow")
    with mlflow.start_run() as run:
        mlflow.log_params({{"lr": 0.01, "layers": 4}})
        print(run.info.run_id, flush=True)
        sys.stdin.readline()  # the test has cut the database
        for step in range({MLFLOW_STEPS}):
            mlflow.log_metrics({{"loss": 1.0 / (step + 1), "acc": step / 100}}, step=step)
        mlflow.set_tag("phase", "done")
    print("finished", flush=True)
    """
)
SCRIPT = textwrap.dedent(
    f"""
    import sys, time
    import trackboard

    with trackboard.init(
        experiment="outage", config={{"lr": 0.01, "layers": 4}}, tags={{"team": "ops"}}
    ) as run:
        print(run.id, flush=True)
        sys.stdin.readline()  # the test has cut the database
        for step in range({POINTS}):
            run.log({{"loss": 1.0 / (step + 1)}}, step=step)
            if step % 10_000 == 0:
                time.sleep(0.2)
        run.set_tags({{"phase": "done"}})
    print("finished", flush=True)
    """
)


@asynccontextmanager
async def server_behind_a_proxy(
    pg_url: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, str, TcpProxy]]:
    """A server on PostgreSQL through a TCP proxy the test can cut: an in-process client,
    the server's URL for scripts, and the proxy."""
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = Settings(
        database_url=with_port(pg_url, proxy.port),
        apply_migrations_on_start=False,
        log_json=False,
        log_level="CRITICAL",
        db_pool_size=4,
        ingest_commit_timeout_s=2.0,
    )
    try:
        async with running_app(settings) as (app, client), serving(app) as url:
            yield client, url, proxy
    finally:
        await proxy.close()


async def run_through_a_cut(
    script: str, env: dict[str, str], proxy: TcpProxy, cwd: Path
) -> tuple[str, list[str]]:
    """Run `script`, which prints its run id and waits for a line on stdin; cut the
    database, let the script work for 6 s against it, restore it, and wait for the script
    to finish. Its run id and output lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        env={**os.environ, **env},
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    run_id = (await asyncio.wait_for(process.stdout.readline(), 120)).decode().strip()
    assert run_id, "the script did not start its run"
    proxy.cut()
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    await asyncio.sleep(6)  # the script's writes (and their retries) meet a dead database
    proxy.restore()
    output, _ = await asyncio.wait_for(process.communicate(), 240)
    assert process.returncode == 0
    return run_id, output.decode().splitlines()


async def steps_of(client: httpx.AsyncClient, run_id: str, key: str) -> list[int]:
    history = await client.get(f"/api/v1/runs/{run_id}/metrics/{key}", params={"format": "columns"})
    steps: list[int] = history.json()["steps"]
    return steps


async def test_a_training_script_survives_a_database_outage(pg_url: str, tmp_path: Path) -> None:
    async with server_behind_a_proxy(pg_url) as (client, url, proxy):
        env = {
            "TRACKBOARD_URL": url,
            "TRACKBOARD_HOME": str(tmp_path / "client"),
            "TRACKBOARD_RETRY_MAX_DELAY": "1",
        }
        run_id, output = await run_through_a_cut(SCRIPT, env, proxy, tmp_path)
        assert output[-1] == "finished"

        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        assert run["status"] == "FINISHED"
        assert run["params"] == {"lr": "0.01", "layers": "4"}
        assert run["tags"]["team"] == "ops"
        assert run["tags"]["phase"] == "done"
        assert await steps_of(client, run_id, "loss") == list(range(POINTS))  # none lost or doubled


async def test_an_mlflow_script_survives_a_database_outage(pg_url: str, tmp_path: Path) -> None:
    async with server_behind_a_proxy(pg_url) as (client, url, proxy):
        env = {
            "MLFLOW_TRACKING_URI": url,
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "8",
        }
        run_id, output = await run_through_a_cut(MLFLOW_SCRIPT, env, proxy, tmp_path)
        assert output[-1] == "finished"

        run = (await client.get(f"/api/v1/runs/{run_id}")).json()
        assert run["status"] == "FINISHED"
        assert run["params"] == {"lr": "0.01", "layers": "4"}
        assert run["tags"]["phase"] == "done"
        for key in ("loss", "acc"):
            assert await steps_of(client, run_id, key) == list(range(MLFLOW_STEPS)), key
