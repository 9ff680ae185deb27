"""Session cookies get `Secure` when the browser's connection was TLS, also through a proxy
that ends TLS, but only when a trusted proxy says so."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.harness import PASSWORD, World, auth_settings, running_app, seed_world
from trackboard.server.config import Settings

PROXY = "10.0.0.7"


async def login_cookies(app: FastAPI, peer: str, headers: dict[str, str]) -> list[str]:
    """The Set-Cookie lines of alice's login, sent from `peer` with `headers`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.post(
            "/api/v1/auth/login",
            json={"username": "alice", "password": PASSWORD},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
        logout = await client.post("/api/v1/auth/logout", headers={**headers, **csrf})
        assert logout.status_code == 204
    return response.headers.get_list("set-cookie") + logout.headers.get_list("set-cookie")


@pytest.fixture
async def proxied_app(sqlite_settings: Settings) -> AsyncIterator[tuple[FastAPI, World]]:
    settings = auth_settings(sqlite_settings, rate_limit=False, trusted_proxies=[PROXY])
    async with running_app(settings) as (app, client):
        yield app, await seed_world(app, client)


async def test_cookies_are_secure_behind_a_trusted_tls_proxy(
    proxied_app: tuple[FastAPI, World],
) -> None:
    cookies = await login_cookies(proxied_app[0], PROXY, {"X-Forwarded-Proto": "https"})
    assert len(cookies) == 4  # session and CSRF, set at login and cleared at logout
    assert all("; Secure" in cookie for cookie in cookies), cookies


@pytest.mark.parametrize(
    ("peer", "proto"),
    [
        ("198.51.100.9", "https"),  # a client claiming TLS itself
        (PROXY, "http"),
        (PROXY, "https, http"),  # the nearest proxy was reached over plain HTTP
    ],
)
async def test_cookies_are_not_secure_without_a_trusted_proxy_saying_https(
    proxied_app: tuple[FastAPI, World], peer: str, proto: str
) -> None:
    cookies = await login_cookies(proxied_app[0], peer, {"X-Forwarded-Proto": proto})
    assert cookies
    assert not any("Secure" in cookie for cookie in cookies), cookies


@pytest.mark.parametrize("forced", [True, False])
async def test_cookie_secure_setting_forces_either_way(
    sqlite_settings: Settings, forced: bool
) -> None:
    settings = auth_settings(
        sqlite_settings, rate_limit=False, trusted_proxies=[PROXY], cookie_secure=forced
    )
    async with running_app(settings) as (app, client):
        await seed_world(app, client)
        proto = "http" if forced else "https"
        cookies = await login_cookies(app, PROXY, {"X-Forwarded-Proto": proto})
    assert cookies
    assert all(("; Secure" in cookie) is forced for cookie in cookies), cookies
