"""Real RabbitMQ (a vhost per test) and PostgreSQL (a database per test), a worker process
to start and kill, and a client that streams batches the way the SDK does (same batch id on
every retry) while recording which batches the API acknowledged."""

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from tests.databases import PostgresDatabases
from tests.services import AMQP_URL, require_service
from trackboard.server.app import create_app
from trackboard.server.config import Settings
from trackboard.server.metrics.chunk_codec import Int64Array, decode_chunk

QUEUE_DEPTH = 5_000


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A vhost of this test's own on the real broker, deleted afterwards."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    vhost = f"tb-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"{AMQP_URL.rstrip('/')}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
async def pg_url(postgres_databases: PostgresDatabases) -> AsyncIterator[str]:
    async with postgres_databases.database() as url:
        yield url


def with_port(url: str, port: int) -> str:
    return make_url(url).set(port=port).render_as_string(hide_password=False)


class ChildProcess:
    """A process of the test's, to stop (SIGTERM, then SIGKILL) or kill with SIGKILL at will."""

    process: subprocess.Popen[bytes] | None = None

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill9()


class WorkerProcess(ChildProcess):
    """`trackboard worker` (or `command`, e.g. `notifier`) as a child process."""

    def __init__(
        self,
        database_url: str,
        amqp_url: str,
        log_dir: Path,
        command: str = "worker",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.env = {
            **os.environ,
            "TRACKBOARD_DATABASE_URL": database_url,
            "TRACKBOARD_AMQP_URL": amqp_url,
            "TRACKBOARD_LOG_LEVEL": "WARNING",
            "TRACKBOARD_LOG_JSON": "false",
            "TRACKBOARD_INGEST_MAX_QUEUE_DEPTH": str(QUEUE_DEPTH),
            **(extra_env or {}),
        }
        self.log_dir = log_dir
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log_path = self.log_dir / f"{self.command}-{id(self)}-{self.starts}.log"
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "trackboard.cli.main", self.command, "--metrics-port", "0"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def distributed_settings(tmp_path: Path, database_url: str, amqp_url: str) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        amqp_url=amqp_url,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="WARNING",
        ingest_max_queue_depth=QUEUE_DEPTH,
        ingest_retry_after_s=1,
    )


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The API in distributed mode, in this process, reached over ASGI."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield app, client


async def make_runs(client: httpx.AsyncClient, count: int) -> list[str]:
    response = await client.post("/api/v1/experiments", json={"name": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    experiment_id = response.json()["id"]
    run_ids = []
    for _ in range(count):
        response = await client.post(f"/api/v1/experiments/{experiment_id}/runs", json={})
        assert response.status_code == 201, response.text
        run_ids.append(response.json()["id"])
    return run_ids


@dataclass
class Stream:
    """Batches posted the SDK's way: a fixed batch id, retried on 503 until acknowledged."""

    client: httpx.AsyncClient
    acknowledged: dict[tuple[str, str], int] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)

    async def post(self, run_id: str, key: str, first_step: int, n: int) -> None:
        batch_id = f"{key}-{first_step}"
        steps = list(range(first_step, first_step + n))
        body = {
            "batch_id": batch_id,
            "columns": [{"key": key, "steps": steps, "values": [s * 0.5 for s in steps]}],
        }
        deadline = time.monotonic() + 90
        while True:
            response = await self.client.post(f"/api/v1/runs/{run_id}/metrics", json=body)
            self.statuses.append(response.status_code)
            if response.status_code == 202:
                self.acknowledged[(run_id, batch_id)] = n
                return
            assert response.status_code == 503, response.text
            assert time.monotonic() < deadline, (
                f"the API refused the batch for 90 s: {response.text}"
            )
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")) * random.random())

    async def run_series(
        self, run_id: str, key: str, batches: int, size: int, pause_s: float = 0.0
    ) -> None:
        for i in range(batches):
            await self.post(run_id, key, i * size, size)
            if pause_s:
                await asyncio.sleep(pause_s)


async def stored_points(pg_url: str) -> int:
    connection = await asyncpg.connect(
        make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        return int(
            await connection.fetchval("SELECT coalesce(sum(point_count), 0) FROM metric_chunks")
        )
    finally:
        await connection.close()


async def wait_for_points(pg_url: str, expected: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    stored = await stored_points(pg_url)
    while stored < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        stored = await stored_points(pg_url)
    return stored


async def series_by_key(pg_url: str) -> dict[tuple[str, str], Int64Array]:
    """Every stored step of every (run, key), duplicates kept."""
    connection = await asyncpg.connect(
        make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        rows = await connection.fetch("SELECT run_id, key, data FROM metric_chunks")
    finally:
        await connection.close()
    parts: dict[tuple[str, str], list[Int64Array]] = {}
    for row in rows:
        parts.setdefault((row["run_id"], row["key"]), []).append(decode_chunk(row["data"]).steps)
    return {ident: np.concatenate(chunks) for ident, chunks in parts.items()}


async def assert_each_point_stored_once(
    pg_url: str, expected_steps: dict[tuple[str, str], int]
) -> None:
    series = await series_by_key(pg_url)
    assert set(series) == set(expected_steps)
    for ident, steps in series.items():
        assert len(steps) == expected_steps[ident], f"{ident}: {len(steps)} points stored"
        assert len(np.unique(steps)) == len(steps), f"{ident}: a point was stored twice"
