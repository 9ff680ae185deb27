"""Sessions on the real PostgreSQL and Redis, shared by two server instances: a Redis
emptied (as by a restart) logs nobody out, and a logout on one instance ends the session
on the other at once."""

import uuid

import redis.asyncio as redis

from tests.gateway.harness import running_app, seed_world
from tests.services import REDIS_URL, require_service
from trackboard.server.config import Settings


async def test_sessions_survive_an_emptied_redis_and_end_everywhere_at_logout(
    pg_url: str,
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"tb-sessions-{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_key_prefix=prefix,
        auth=True,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="CRITICAL",
    )
    store = redis.Redis.from_url(REDIS_URL)

    async def empty_redis() -> None:
        keys = [key async for key in store.scan_iter(match=f"{prefix}*")]
        if keys:
            await store.delete(*keys)

    try:
        async with running_app(settings) as (app_a, client_a):
            world = await seed_world(app_a, client_a)
            login = await client_a.post(
                "/api/v1/auth/login", json={"username": "alice", "password": world.users["alice"]}
            )
            assert login.status_code == 200, login.text
            cookies = {"tb_session": client_a.cookies["tb_session"]}
            csrf = login.json()["csrf_token"]

            await empty_redis()
            async with running_app(settings) as (_, client_b):
                client_b.cookies.update(cookies)
                me = await client_b.get("/api/v1/auth/me")
                assert me.status_code == 200, me.text
                assert me.json()["name"] == "alice"
                assert (await client_a.get("/api/v1/auth/me")).json()["name"] == "alice"

                logout = await client_b.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
                assert logout.status_code == 204
                # A still holds the cookie; the session is gone for it too.
                assert (await client_a.get("/api/v1/experiments")).status_code == 401
                await empty_redis()
                assert (await client_a.get("/api/v1/experiments")).status_code == 401
    finally:
        await empty_redis()
        await store.aclose()
