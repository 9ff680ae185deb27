"""With Redis unreachable: keys still work, limits hold per instance, sessions say 503."""

import httpx
import pytest

from tests.gateway.harness import bearer, running_app, seed_world
from trackboard.server.config import Settings


@pytest.mark.timeout(120)
async def test_the_gateway_degrades_without_redis(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(
        update={
            "auth": True,
            "rate_limit": True,
            "rate_limit_read_per_s": 1.0,
            "rate_limit_burst": 5.0,
            "redis_url": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    )
    async with running_app(settings) as (app, client):
        world = await seed_world(app, client)
        headers = bearer(world.keys["a_viewer"])
        codes = [
            (await client.get("/api/v1/experiments", headers=headers)).status_code for _ in range(7)
        ]
        assert codes[0] == 200
        assert codes[-1] == 429  # the in-memory fallback bucket
        login = await client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": world.users["alice"]}
        )
        assert login.status_code == 503
        assert login.headers["retry-after"]
        client.cookies.set("tb_session", "some-token")
        cookie = await client.get("/api/v1/experiments")
        assert cookie.status_code == 503
        assert isinstance(cookie, httpx.Response)
