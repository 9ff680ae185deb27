"""Reads through a real streaming replica: routed there, read-your-writes for the writer,
and the primary when the replica lags past the bound or is down."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server
from tests.replicas.streaming_pair import StreamingPair, start_streaming_pair
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import upgrade_database


@pytest.fixture
def pair() -> Iterator[StreamingPair]:
    pair = start_streaming_pair()
    try:
        yield pair
    finally:
        pair.close()


def serve(
    pair: StreamingPair, home: Path, max_lag_s: float = 5.0
) -> contextlib.AbstractContextManager[str]:
    database = f"tb_{uuid.uuid4().hex[:8]}"

    async def prepare() -> None:
        admin = create_engine(pair.url(pair.primary_port))
        async with admin.connect() as connection:
            await (
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            ).exec_driver_sql(f'CREATE DATABASE "{database}"')
        await admin.dispose()
        engine = create_engine(pair.url(pair.primary_port, database))
        await upgrade_database(engine)
        await engine.dispose()

    asyncio.run(prepare())
    return live_server(
        home,
        {
            "TRACKBOARD_DATABASE_URL": pair.url(pair.primary_port, database),
            "TRACKBOARD_REPLICA_URLS": pair.url(pair.standby_port, database),
            "TRACKBOARD_REPLICA_MAX_LAG_S": str(max_lag_s),
        },
    )


def wait_for(condition, timeout_s: float = 15.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds until `condition()` held; fails the test past the timeout."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, "condition never held"
        time.sleep(0.05)
    return time.monotonic() - started


def create_run(client: httpx.Client) -> str:
    """A new run (in a new experiment); run reads are not cached, so each one reads the
    database the request was routed to."""
    response = client.post("/api/v1/experiments", json={"name": f"e-{uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    response = client.post(f"/api/v1/experiments/{response.json()['id']}/runs", json={})
    assert response.status_code == 201, response.text
    assert response.headers["trackboard-read-after"]
    return str(response.json()["id"])


def test_reads_go_to_the_replica_and_the_writer_reads_its_own_writes(
    pair: StreamingPair, tmp_path: Path
) -> None:
    pair.set_standby_apply_delay("3s")
    with (
        serve(pair, tmp_path) as url,
        httpx.Client(base_url=url) as writer,
        httpx.Client(base_url=url) as other,
    ):
        # Let the monitor see the replica before the write.
        wait_for(lambda: replica_lag(other) == 0.0)
        run = create_run(writer)
        # The writer carries its commit position (cookie): never a stale read.
        assert writer.get(f"/api/v1/runs/{run}").status_code == 200
        # Another client reads from the replica, which applies commits 3 s late.
        assert other.get(f"/api/v1/runs/{run}").status_code == 404
        seen_after = wait_for(lambda: other.get(f"/api/v1/runs/{run}").status_code == 200)
        assert seen_after > 1.0
        assert writer.get(f"/api/v1/runs/{run}").status_code == 200


def replica_lag(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('trackboard_replica_lag_seconds{replica="replica-0"}'):
            return float(line.split()[-1])
    raise AssertionError("no replica lag exported")


def test_a_replica_past_the_lag_bound_is_skipped(pair: StreamingPair, tmp_path: Path) -> None:
    with serve(pair, tmp_path, max_lag_s=1.0) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: replica_lag(client) == 0.0)
        pair.set_standby_apply_delay("30s")
        run = create_run(client)
        client.cookies.clear()  # read as someone else: only the lag bound protects
        # The replica holds the run back 30 s; about a second after the write it counts
        # as lagging and reads go to the primary.
        assert wait_for(lambda: client.get(f"/api/v1/runs/{run}").status_code == 200) < 10
        assert 1.0 < replica_lag(client) < 30.0


def test_reads_fall_back_to_the_primary_when_the_replica_dies(
    pair: StreamingPair, tmp_path: Path
) -> None:
    with serve(pair, tmp_path) as url, httpx.Client(base_url=url) as client:
        run = create_run(client)
        pair.stop_standby()
        client.cookies.clear()
        for _ in range(5):
            response = client.get(f"/api/v1/runs/{run}")
            assert response.status_code == 200, response.text
        assert replica_lag(client) == float("inf")
