"""The README's distributed-mode section, run as written (read from README.md) with its
addresses swapped for the test's own: a database of its own it creates and migrates, a
RabbitMQ vhost, a Redis key prefix and free ports. Its block starts a worker, a notifier and
two API servers; the quickstart then logs through one server and reads through the other."""

import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.cache.redis_keys import redis_prefix
from tests.live_server import free_port
from tests.readme_blocks import (
    DISTRIBUTED_HEADING,
    ShellSession,
    localized,
    readme_environment,
    run_quickstart,
    shell_block_under,
)
from tests.services import POSTGRES_ADMIN_URL, REDIS_URL, require_service


@pytest.fixture
async def redis_key_prefix() -> AsyncIterator[str]:
    async with redis_prefix() as prefix:
        yield prefix


@pytest.fixture
async def database_name() -> AsyncIterator[str]:
    """A name for the database the README's `createdb` makes; dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"tb_readme_{uuid.uuid4().hex[:10]}"
    yield name
    admin = make_url(POSTGRES_ADMIN_URL)
    connection = await asyncpg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, database=admin.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def consumers(vhost: str) -> dict[str, int]:
    """Each queue of `vhost` with its number of consumers."""
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "consumers"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    rows = (line.split("\t") for line in listed.splitlines()[1:] if "\t" in line)
    return {name: int(count) for name, count in rows}


def consumed_queues(vhost: str, names: tuple[str, ...], timeout_s: float = 90) -> dict[str, int]:
    """The queues of `vhost` once each of `names` has a consumer (or at the deadline): the
    README starts the worker and the notifier in the background, and on a loaded machine
    they may still be starting when the servers already answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        queues = consumers(vhost)
        if all(queues.get(name, 0) >= 1 for name in names) or time.monotonic() > deadline:
            return queues
        time.sleep(1)


def test_the_readme_distributed_section_serves_one_deployment_from_two_servers(
    tmp_path: Path, amqp_url: str, database_name: str, redis_key_prefix: str
) -> None:
    admin = make_url(POSTGRES_ADMIN_URL)
    database_url = admin.set(database=database_name).render_as_string(hide_password=False)
    first, second = free_port(), free_port()
    script = localized(
        shell_block_under(DISTRIBUTED_HEADING),
        {
            "postgresql://postgres@127.0.0.1:5432/trackboard": database_url,
            "createdb -h 127.0.0.1 -U postgres trackboard": (
                f"createdb -h {admin.host} -p {admin.port or 5432} -U {admin.username} "
                f"{database_name}"
            ),
            "amqp://guest:guest@127.0.0.1:5672/": amqp_url,
            "redis://127.0.0.1:6379/0": REDIS_URL,
            "--port 5005": f"--port {first}",
            "--port 5006": f"--port {second}",
            "http://127.0.0.1:5005/": f"http://127.0.0.1:{first}/",
            "http://127.0.0.1:5006/": f"http://127.0.0.1:{second}/",
        },
    )
    env = readme_environment(
        tmp_path / "home",
        {
            "TRACKBOARD_REDIS_KEY_PREFIX": redis_key_prefix,
            # No Prometheus port for the worker and the notifier: other tests run theirs.
            "TRACKBOARD_WORKER_METRICS_PORT": "0",
            "TRACKBOARD_NOTIFIER_METRICS_PORT": "0",
            "TRACKBOARD_LOG_LEVEL": "WARNING",
        },
    )
    session = ShellSession(script, tmp_path, env, tmp_path / "readme.log")
    try:
        session.wait(timeout_s=240)
        lines = run_quickstart(f"http://127.0.0.1:{first}", tmp_path / "client")
        match = re.search(r"/runs/([^/\s]+)$", lines[0])
        assert match is not None, lines
        history = httpx.get(
            f"http://127.0.0.1:{second}/api/v1/runs/{match.group(1)}/metrics/loss", timeout=10
        ).json()
        queues = consumed_queues(
            amqp_url.rsplit("/", 1)[1], ("trackboard.metrics", "trackboard.notifier")
        )
    finally:
        session.stop()
    assert len(history["points"]) == 100
    assert queues["trackboard.metrics"] >= 1, queues
    assert queues["trackboard.notifier"] >= 1, queues
