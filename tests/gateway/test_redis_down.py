"""With Redis unreachable: keys still work, limits hold per instance, sessions are read
from the database, and a logout that cannot reach the cache says 503."""

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
        # Sessions are rows in the database, which Redis only caches.
        login = await client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": world.users["alice"]}
        )
        assert login.status_code == 200, login.text
        assert (await client.get("/api/v1/auth/me")).json()["name"] == "alice"
        assert (await client.get("/api/v1/experiments")).status_code == 200
        # A logout must reach the cache too, or a cached session could outlive it.
        logout = await client.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]}
        )
        assert logout.status_code == 503
        client.cookies.set("tb_session", "some-token")
        forged = await client.get("/api/v1/experiments")
        assert forged.status_code == 401
