"""Every password check, login route and HTTP Basic alike, passes one per-account and
per-address failure limit. Two failures a minute here, so that no refill (one token per
30 s) lands within a test on a slow machine."""

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.harness import World, bearer, running_app, seed_world
from trackboard.server.accounts import service as accounts
from trackboard.server.config import Settings

WRONG = "not the password"
ATTEMPTS = 2


@pytest.fixture
async def auth_app(
    sqlite_settings: Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = sqlite_settings.model_copy(
        update={"auth": True, "rate_limit": False, "login_attempts_per_min": ATTEMPTS}
    )
    async with running_app(settings) as pair:
        yield pair


@pytest.fixture
async def world(auth_app: tuple[FastAPI, httpx.AsyncClient]) -> World:
    return await seed_world(*auth_app)


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from `address` (the TCP peer)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def basic_status(app: FastAPI, address: str, username: str, password: str) -> int:
    async with client_at(app, address) as client:
        response = await client.get("/api/v1/experiments", headers=basic(username, password))
    return response.status_code


async def login(app: FastAPI, address: str, username: str, password: str) -> httpx.Response:
    async with client_at(app, address) as client:
        return await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )


async def test_basic_auth_failures_lock_the_account_like_login(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    statuses = [await basic_status(app, f"198.51.100.{i}", "alice", WRONG) for i in range(30)]
    assert statuses[:ATTEMPTS] == [401] * ATTEMPTS
    assert set(statuses[ATTEMPTS:]) == {429}
    # Locked for the right password too, through Basic and through the login route alike.
    assert await basic_status(app, "203.0.113.1", "alice", world.users["alice"]) == 429
    refused = await login(app, "203.0.113.2", "alice", world.users["alice"])
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "REQUEST_LIMIT_EXCEEDED"
    # Other accounts are not locked.
    assert await basic_status(app, "203.0.113.3", "bob", world.users["bob"]) == 200


async def test_login_failures_lock_a_password_basic_auth_had_already_verified(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    # Verified once, so remembered: later requests skip argon2, not the lock.
    assert await basic_status(app, "203.0.113.1", "alice", world.users["alice"]) == 200
    for i in range(ATTEMPTS):
        failed = await login(app, f"198.51.100.{i}", "alice", WRONG)
        assert failed.status_code == 401
    assert (await login(app, "198.51.100.99", "alice", WRONG)).status_code == 429
    async with client_at(app, "203.0.113.1") as client:
        locked = await client.get(
            "/api/v1/experiments", headers=basic("alice", world.users["alice"])
        )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"]["code"] == "REQUEST_LIMIT_EXCEEDED"


async def test_failures_from_one_address_lock_it_for_every_account(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    sprayed = [await basic_status(app, "198.51.100.7", f"user{i}", WRONG) for i in range(4)]
    assert sprayed == [401] * ATTEMPTS + [429, 429]
    assert await basic_status(app, "198.51.100.7", "bob", world.users["bob"]) == 429
    assert (await login(app, "198.51.100.7", "bob", world.users["bob"])).status_code == 429
    assert await basic_status(app, "198.51.100.8", "bob", world.users["bob"]) == 200


async def test_right_passwords_spend_no_budget(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    statuses = [
        (await login(app, "203.0.113.1", "alice", world.users["alice"])).status_code
        for _ in range(15)
    ]
    assert statuses == [200] * 15


async def test_a_burst_of_basic_requests_with_one_new_password_all_get_through(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, client = auth_app
    async with app.state.database.transaction() as session:
        await accounts.create_user(session, "carol", "carol's long password")
    headers = basic("carol", "carol's long password")
    # More concurrent requests than the budget holds: they share one verification.
    responses = await asyncio.gather(
        *(client.get("/api/v1/auth/me", headers=headers) for _ in range(25))
    )
    assert [response.status_code for response in responses] == [200] * 25


async def test_a_valid_api_key_still_works_from_an_address_locked_by_failed_keys(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    async with client_at(app, "198.51.100.9") as client:
        guesses = [
            (await client.get("/api/v1/experiments", headers=bearer(f"tbk_guess{i:04d}_x")))
            for i in range(ATTEMPTS + 1)
        ]
        valid = await client.get("/api/v1/experiments", headers=bearer(world.keys["a_viewer"]))
    assert [guess.status_code for guess in guesses][-1] == 429
    assert valid.status_code == 200


async def test_failed_api_keys_do_not_lock_passwords_from_their_address(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    async with client_at(app, "198.51.100.10") as client:
        for i in range(ATTEMPTS):
            await client.get("/api/v1/experiments", headers=bearer(f"tbk_guess{i:04d}_x"))
        locked = await client.get("/api/v1/experiments", headers=bearer("tbk_guess9999_x"))
    assert locked.status_code == 429
    assert await basic_status(app, "198.51.100.10", "bob", world.users["bob"]) == 200
