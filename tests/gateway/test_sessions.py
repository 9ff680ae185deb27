"""Dashboard sessions: cookie flags, CSRF on writes, forged and expired sessions, logout."""

import time

import httpx
from fastapi import FastAPI

from tests.gateway.harness import World
from trackboard.server.gateway.sessions import session_key, token_hash
from trackboard.server.models import LoginSessionRecord


async def login(client: httpx.AsyncClient, world: World, user: str = "alice") -> httpx.Response:
    response = await client.post(
        "/api/v1/auth/login", json={"username": user, "password": world.users[user]}
    )
    assert response.status_code == 200, response.text
    return response


async def test_login_sets_an_httponly_lax_cookie_and_a_readable_csrf_cookie(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    response = await login(auth_client, world)
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("tb_session="))
    csrf = next(c for c in cookies if c.startswith("tb_csrf="))
    assert "HttpOnly" in session
    assert "samesite=lax" in session.lower()
    assert "Max-Age=86400" in session
    assert "Secure" not in session  # plain HTTP here; over TLS it is set
    assert "HttpOnly" not in csrf
    me = await auth_client.get("/api/v1/auth/me")
    assert me.json()["name"] == "alice"
    assert me.json()["projects"] == {str(world.projects["a"]): "owner"}


async def test_cookie_is_secure_over_tls(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, _ = auth_app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as client:
        response = await login(client, world)
    session = next(c for c in response.headers.get_list("set-cookie") if "tb_session=" in c)
    assert "Secure" in session


async def test_cookie_writes_need_the_csrf_token(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    token = (await login(auth_client, world)).json()["csrf_token"]
    path = f"/api/v1/runs/{world.runs['a']}/tags"
    body = {"tags": {"k": "v"}}
    assert (await auth_client.post(path, json=body)).status_code == 403
    wrong = await auth_client.post(path, json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    # FastAPI CVE-2021-32677: JSON sent as text/plain by a cross-site form.
    plain = await auth_client.post(
        path, content=b'{"tags": {"k": "v"}}', headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 403
    ok = await auth_client.post(path, json=body, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200
    # Reads need no token.
    assert (await auth_client.get(f"/api/v1/runs/{world.runs['a']}")).status_code == 200


async def test_cross_origin_cookie_requests_are_refused(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    token = (await login(auth_client, world)).json()["csrf_token"]
    response = await auth_client.post(
        f"/api/v1/runs/{world.runs['a']}/tags",
        json={"tags": {"k": "v"}},
        headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    same = await auth_client.get(
        f"/api/v1/runs/{world.runs['a']}", headers={"Origin": "http://localhost"}
    )
    assert same.status_code == 200


async def test_forged_session_cookie_is_anonymous(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    auth_client.cookies.set("tb_session", "forged-" + "A" * 40)
    assert (await auth_client.get("/api/v1/experiments")).status_code == 401
    auth_client.cookies.set("tb_session", "x" * 5000)
    assert (await auth_client.get("/api/v1/experiments")).status_code == 401


async def test_expired_session_is_refused(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    app, client = auth_app
    await login(client, world)
    token = client.cookies["tb_session"]
    assert (await client.get("/api/v1/experiments")).status_code == 200
    # Expire it in the store the way its TTL would (and a stale copy by its deadline).
    cache = app.state.gateway.sessions.cache
    raw = await cache.get(session_key(token))
    assert raw is not None
    await cache.set(session_key(token), raw.replace(b'"exp":', b'"exp":1,"old":'), 60)
    assert (await client.get("/api/v1/experiments")).status_code == 401
    # Not cached: its row decides, by its own deadline.
    await cache.delete(session_key(token))
    async with app.state.database.transaction() as session:
        record = await session.get(LoginSessionRecord, token_hash(token))
        assert record is not None
        record.expires_at = int(time.time() * 1000) - 1
    assert (await client.get("/api/v1/experiments")).status_code == 401


async def test_a_session_outlives_its_cache_entry(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    """A cache restarted empty (Redis) logs nobody out: the row is the session."""
    app, client = auth_app
    await login(client, world)
    token = client.cookies["tb_session"]
    cache = app.state.gateway.sessions.cache
    await cache.delete(session_key(token))
    assert (await client.get("/api/v1/auth/me")).json()["name"] == "alice"
    assert await cache.get(session_key(token)) is not None  # cached again


async def test_logout_ends_the_session(auth_client: httpx.AsyncClient, world: World) -> None:
    token = (await login(auth_client, world)).json()["csrf_token"]
    session = auth_client.cookies["tb_session"]
    response = await auth_client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 204
    auth_client.cookies.set("tb_session", session)  # a copy kept by an attacker
    assert (await auth_client.get("/api/v1/experiments")).status_code == 401


async def test_wrong_passwords_are_rate_limited(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    statuses = []
    for _ in range(15):
        response = await auth_client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "guess-guess-guess"}
        )
        statuses.append(response.status_code)
    assert statuses[0] == 401
    assert statuses[-1] == 429
    # The right password does not get through the limit either.
    locked = await auth_client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": world.users["alice"]}
    )
    assert locked.status_code == 429


async def test_unknown_and_known_users_fail_alike(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    unknown = await auth_client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "whatever-whatever"}
    )
    known = await auth_client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": "whatever-whatever"}
    )
    assert unknown.status_code == known.status_code == 401
    assert unknown.json() == known.json()
