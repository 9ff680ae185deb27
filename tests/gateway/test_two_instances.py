"""Two API instances on one Redis and one PostgreSQL: the distributed mode's guarantees."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.cache.redis_keys import redis_prefix
from tests.databases import PostgresDatabases
from tests.gateway.harness import World, bearer, running_app, seed_world
from tests.services import REDIS_URL
from trackboard.cli.keys import app as keys_cli
from trackboard.server.config import Settings

Pair = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def distributed_settings(
    tmp_path: Path, postgres_databases: PostgresDatabases
) -> AsyncIterator[Settings]:
    async with postgres_databases.database() as url, redis_prefix() as prefix:
        yield Settings(
            home=tmp_path,
            database_url=url,
            redis_url=REDIS_URL,
            redis_key_prefix=prefix,
            apply_migrations_on_start=False,
            auth=True,
            rate_limit=False,
            log_json=False,
            log_level="WARNING",
        )


async def two_instances(settings: Settings) -> AsyncIterator[tuple[Pair, World]]:
    async with running_app(settings) as (app_one, one), running_app(settings) as (_, two):
        world = await seed_world(app_one, one)
        yield (one, two), world


@pytest.fixture
async def instances(distributed_settings: Settings) -> AsyncIterator[tuple[Pair, World]]:
    async for pair in two_instances(distributed_settings):
        yield pair


@pytest.fixture
async def limited_instances(distributed_settings: Settings) -> AsyncIterator[tuple[Pair, World]]:
    settings = distributed_settings.model_copy(
        update={"rate_limit": True, "rate_limit_read_per_s": 0.01, "rate_limit_burst": 2000}
    )  # 20 reads, refilled at one per 100 s
    async for pair in two_instances(settings):
        yield pair


async def test_both_instances_together_never_exceed_the_bucket(
    limited_instances: tuple[Pair, World],
) -> None:
    (one, two), world = limited_instances
    headers = bearer(world.keys["a_viewer"])
    # Concurrent across both instances, but at most 8 in flight: 80 at once open 80 Redis
    # connections together, and on a loaded machine some take longer than the Redis
    # deadline, so those requests fall back to their instance's own bucket (failing open,
    # as designed) and the count measures the machine rather than the shared bucket.
    in_flight = asyncio.Semaphore(8)

    async def read(client: httpx.AsyncClient) -> httpx.Response:
        async with in_flight:
            return await client.get("/api/v1/experiments", headers=headers)

    responses = await asyncio.gather(*(read(client) for client in [one, two] * 40))
    allowed = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(allowed) == 20
    assert len(refused) == 60
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)


async def test_a_key_revoked_through_one_instance_is_refused_by_both_within_a_second(
    instances: tuple[Pair, World],
) -> None:
    (one, two), world = instances
    key = world.keys["a_editor"]
    for client in (one, two):  # both have it cached now
        assert (await client.get("/api/v1/experiments", headers=bearer(key))).status_code == 200
    owner = bearer(world.keys["a_owner"])
    listed = await one.get(f"/api/v1/projects/{world.projects['a']}/keys", headers=owner)
    key_id = next(k["id"] for k in listed.json()["keys"] if key.startswith(k["prefix"]))
    revoked_at = time.monotonic()
    revoke = await one.delete(
        f"/api/v1/projects/{world.projects['a']}/keys/{key_id}", headers=owner
    )
    assert revoke.status_code == 200
    for client in (two, one):
        while (await client.get("/api/v1/experiments", headers=bearer(key))).status_code != 401:
            assert time.monotonic() - revoked_at < 1.0
            await asyncio.sleep(0.05)


async def test_a_key_revoked_by_the_cli_is_refused_by_both(
    instances: tuple[Pair, World], distributed_settings: Settings
) -> None:
    (one, two), world = instances
    key = world.keys["b_viewer"]
    for client in (one, two):
        assert (await client.get("/api/v1/experiments", headers=bearer(key))).status_code == 200
    env = {
        "TRACKBOARD_DATABASE_URL": str(distributed_settings.database_url),
        "TRACKBOARD_REDIS_URL": REDIS_URL,
        "TRACKBOARD_REDIS_KEY_PREFIX": distributed_settings.redis_key_prefix,
        "TRACKBOARD_HOME": str(distributed_settings.home),
    }
    result = await asyncio.to_thread(CliRunner().invoke, keys_cli, ["revoke", key], env=env)
    assert result.exit_code == 0, result.output
    for client in (one, two):
        assert (await client.get("/api/v1/experiments", headers=bearer(key))).status_code == 401


async def test_a_write_on_one_instance_is_never_followed_by_a_stale_read_on_the_other(
    instances: tuple[Pair, World],
) -> None:
    (one, two), world = instances
    headers = bearer(world.keys["a_editor"])
    experiment = world.experiments["a"]
    detail = f"/api/v1/experiments/{experiment}"
    dashboard = f"{detail}/dashboard"
    for i in range(15):
        # Instance 2 has everything cached...
        for path in (detail, dashboard, "/api/v1/experiments"):
            assert (await two.get(path, headers=headers)).status_code == 200
        # ...instance 1 writes...
        renamed = await one.patch(detail, json={"name": f"name-{i}"}, headers=headers)
        assert renamed.status_code == 200
        run = await one.post(f"{detail}/runs", json={}, headers=headers)
        assert run.status_code == 201
        # ...and instance 2's very next reads show it.
        assert (await two.get(detail, headers=headers)).json()["name"] == f"name-{i}"
        listed = (await two.get("/api/v1/experiments", headers=headers)).json()["experiments"]
        assert [e["name"] for e in listed] == [f"name-{i}"]
        stats = (await two.get(dashboard, headers=headers)).json()
        assert stats["total_runs"] == i + 2  # the seeded run and one per round
