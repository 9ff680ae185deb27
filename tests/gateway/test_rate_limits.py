"""Token buckets: 429 with Retry-After and RateLimit-*, two budgets, client addresses."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.harness import bearer, running_app, seed_world
from trackboard.server.config import Settings
from trackboard.server.gateway.access_policy import is_read_request
from trackboard.server.gateway.client_address import (
    bucket_address,
    client_address,
    parse_networks,
)

PROXY = "10.9.8.7"


@pytest.fixture
async def limited(sqlite_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = sqlite_settings.model_copy(
        update={
            "auth": True,
            "rate_limit": True,
            "rate_limit_read_per_s": 2.0,
            "rate_limit_ingest_per_s": 1.0,
            "rate_limit_burst": 3.0,  # buckets of 6 reads and 3 writes
            "trusted_proxies": [PROXY],
        }
    )
    async with running_app(settings) as pair:
        yield pair


async def statuses(
    client: httpx.AsyncClient, n: int, headers: dict[str, str], path: str = "/api/v1/experiments"
) -> list[int]:
    return [(await client.get(path, headers=headers)).status_code for _ in range(n)]


async def test_429_with_retry_after_and_ratelimit_headers(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = limited
    world = await seed_world(app, client)  # spends 4 writes of a_editor/b_editor
    headers = bearer(world.keys["a_viewer"])
    first = await client.get("/api/v1/experiments", headers=headers)
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == "6"
    assert first.headers["ratelimit-remaining"] == "5"
    assert 'name="read"' in first.headers["ratelimit-policy"]
    codes = await statuses(client, 8, headers=headers)
    assert codes[:5] == [200] * 5
    assert codes[-1] == 429
    refused = await client.get("/api/v1/experiments", headers=headers)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.json()["error"]["code"] == "REQUEST_LIMIT_EXCEEDED"


async def test_reads_and_writes_spend_separate_budgets(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = limited
    world = await seed_world(app, client)
    headers = bearer(world.keys["a_owner"])
    assert (await statuses(client, 7, headers=headers))[-1] == 429
    write = await client.post(
        f"/api/v1/runs/{world.runs['a']}/tags", json={"tags": {"k": "v"}}, headers=headers
    )
    assert write.status_code == 200
    assert 'name="ingest"' in write.headers["ratelimit-policy"]


async def test_each_key_has_its_own_bucket(limited: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = limited
    world = await seed_world(app, client)
    assert (await statuses(client, 7, headers=bearer(world.keys["a_viewer"])))[-1] == 429
    assert (await statuses(client, 1, headers=bearer(world.keys["b_viewer"]))) == [200]


async def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = limited
    codes = []
    for i in range(8):
        response = await client.get(
            "/healthz",
            headers={
                "X-Forwarded-For": f"203.0.113.{i}",
                "X-Real-IP": f"198.51.100.{i}",
                "Forwarded": f"for=192.0.2.{i}",
            },
        )
        codes.append(response.status_code)
    # One anonymous bucket for the real peer, whatever the headers claim.
    assert codes[:6] == [200] * 6
    assert codes[-1] == 429


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, _ = limited
    transport = httpx.ASGITransport(app=app, client=(PROXY, 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        first = await statuses(client, 7, {"X-Forwarded-For": "203.0.113.1"}, "/healthz")
        second = await statuses(client, 1, {"X-Forwarded-For": "203.0.113.2"}, "/healthz")
        # A client prepending its own entry does not change who it is.
        spoofed = await statuses(
            client, 1, {"X-Forwarded-For": "198.51.100.9, 203.0.113.1"}, "/healthz"
        )
    assert first[-1] == 429
    assert second == [200]
    assert spoofed == [429]


async def test_failed_keys_spend_the_addresses_login_budget(
    limited: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = limited
    codes = [
        (await client.get("/api/v1/experiments", headers=bearer(f"tbk_guess{i:04d}_x"))).status_code
        for i in range(14)
    ]
    assert codes[0] == 401
    assert codes[-1] == 429


def test_client_address_rules() -> None:
    proxies = parse_networks(["10.0.0.0/8", "::1"])
    assert client_address("192.0.2.1", ["203.0.113.9"], proxies) == "192.0.2.1"
    assert client_address("10.1.1.1", ["203.0.113.9"], proxies) == "203.0.113.9"
    assert client_address("10.1.1.1", ["203.0.113.9, 10.2.2.2"], proxies) == "203.0.113.9"
    assert client_address("10.1.1.1", ["1.1.1.1", "203.0.113.9"], proxies) == "203.0.113.9"
    assert client_address("10.1.1.1", ["garbage"], proxies) == "10.1.1.1"
    assert client_address("10.1.1.1", [], proxies) == "10.1.1.1"
    assert client_address("::ffff:192.0.2.1", [], proxies) == "192.0.2.1"
    assert bucket_address("2001:db8:1:2:aaaa::1") == bucket_address("2001:db8:1:2:bbbb::9")
    assert bucket_address("2001:db8:1:3::1") != bucket_address("2001:db8:1:2::1")
    with pytest.raises(ValueError, match="not allowed"):
        parse_networks(["*"])


async def test_open_mode_has_no_rate_limit_and_ignores_keys(sqlite_settings: Settings) -> None:
    async with running_app(sqlite_settings) as (_, client):
        codes = await statuses(client, 30, headers=bearer("tbk_whatever_x"))
    assert set(codes) == {200}


def test_posts_that_only_read_spend_the_read_budget() -> None:
    assert is_read_request("POST", "/api/v1/runs/search")
    assert is_read_request("POST", "/api/v1/runs/export")
    assert is_read_request("POST", "/api/2.0/mlflow/runs/search")
    assert not is_read_request("POST", "/api/v1/experiments/1/runs")
    assert not is_read_request("PATCH", "/api/v1/runs/abc")
