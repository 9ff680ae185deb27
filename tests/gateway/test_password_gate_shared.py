"""The password gate's budgets live in Redis: one lock for every instance."""

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.cache.redis_keys import redis_prefix
from tests.databases import PostgresDatabases
from tests.gateway.harness import PASSWORD, running_app, seed_world
from tests.services import REDIS_URL
from trackboard.server.config import Settings

ATTEMPTS = 2  # a token back every 30 s: no refill within the test

Pair = tuple[httpx.AsyncClient, httpx.AsyncClient]


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
async def instances(tmp_path: Path, postgres_databases: PostgresDatabases) -> AsyncIterator[Pair]:
    async with postgres_databases.database() as url, redis_prefix() as prefix:
        settings = Settings(
            home=tmp_path,
            database_url=url,
            redis_url=REDIS_URL,
            redis_key_prefix=prefix,
            apply_migrations_on_start=False,
            auth=True,
            rate_limit=False,
            login_attempts_per_min=ATTEMPTS,
            log_json=False,
            log_level="WARNING",
        )
        async with running_app(settings) as (app, one), running_app(settings) as (_, two):
            await seed_world(app, one)
            yield one, two


async def test_failures_on_one_instance_lock_a_password_the_other_remembers(
    instances: Pair,
) -> None:
    one, two = instances
    right = basic("alice", PASSWORD)
    # Right passwords give their tokens back, in Redis too.
    for _ in range(2 * ATTEMPTS + 1):
        assert (await one.post("/api/v1/auth/login", json=login_body(PASSWORD))).status_code == 200
    assert (await two.get("/api/v1/auth/me", headers=right)).status_code == 200
    wrong = [
        (await one.get("/api/v1/auth/me", headers=basic("alice", "not it"))).status_code
        for _ in range(ATTEMPTS + 1)
    ]
    assert wrong == [401] * ATTEMPTS + [429]
    locked = await two.get("/api/v1/auth/me", headers=right)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1


def login_body(password: str) -> dict[str, str]:
    return {"username": "alice", "password": password}
