"""Requests a browser can be tricked into sending: non-JSON writes, cross-site writes and
sockets, foreign Host names (DNS rebinding); with auth off and on."""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from tests.gateway.harness import World, bearer, running_app
from trackboard.server.config import Settings
from trackboard.server.gateway.request_guard import HostAllowList

CREATE = "/api/2.0/mlflow/experiments/create"
GET_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def experiment_exists(
    client: httpx.AsyncClient, name: str, headers: dict[str, str] | None = None
) -> bool:
    found = await client.get(GET_BY_NAME, params={"experiment_name": name}, headers=headers)
    assert found.status_code in (200, 404), found.text
    return found.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    ["text/plain;x=json", "text/plain", "application/x-www-form-urlencoded", None],
)
async def test_an_mlflow_write_not_sent_as_json_is_refused_and_creates_nothing(
    open_client: httpx.AsyncClient, content_type: str | None
) -> None:
    name = unique("plain")
    headers = {"content-type": content_type} if content_type else {}
    response = await open_client.post(CREATE, content=f'{{"name": "{name}"}}', headers=headers)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "application/json" in response.json()["message"]
    assert not await experiment_exists(open_client, name)


async def test_a_v1_write_not_sent_as_json_is_refused_in_the_v1_shape(
    open_client: httpx.AsyncClient,
) -> None:
    name = unique("plain-v1")
    response = await open_client.post(
        "/api/v1/experiments",
        content=f'{{"name": "{name}"}}',
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    assert not await experiment_exists(open_client, name)


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=UTF-8"])
async def test_json_writes_pass_whatever_the_case_and_parameters(
    open_client: httpx.AsyncClient, content_type: str
) -> None:
    name = unique("json")
    response = await open_client.post(
        "/api/v1/experiments",
        content=f'{{"name": "{name}"}}',
        headers={"content-type": content_type},
    )
    assert response.status_code == 201, response.text
    assert await experiment_exists(open_client, name)


async def test_writes_without_a_body_need_no_content_type(open_client: httpx.AsyncClient) -> None:
    created = await open_client.post("/api/v1/experiments", json={"name": unique("bodyless")})
    experiment_id = created.json()["id"]
    deleted = await open_client.delete(f"/api/v1/experiments/{experiment_id}")
    assert deleted.status_code in (200, 204), deleted.text
    restored = await open_client.post(f"/api/v1/experiments/{experiment_id}/restore")
    assert restored.status_code == 200, restored.text


async def test_artifact_uploads_take_raw_bytes(open_client: httpx.AsyncClient) -> None:
    created = await open_client.post(CREATE, json={"name": unique("artifacts")})
    experiment_id = created.json()["experiment_id"]
    run = await open_client.post(
        "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}
    )
    run_id = run.json()["run"]["info"]["run_id"]
    path = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/model.bin"
    uploaded = await open_client.put(
        path, content=b"\x00\x01raw", headers={"content-type": "application/octet-stream"}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert (await open_client.get(path)).content == b"\x00\x01raw"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # sandboxed frames, file: and data: pages
        {"Origin": "http://localhost:3000"},  # another local dev server: another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_writes_with_auth_off_are_refused_and_create_nothing(
    open_client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    name = unique("cross")
    response = await open_client.post(CREATE, json={"name": name}, headers=headers)
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"
    v1 = await open_client.post("/api/v1/experiments", json={"name": name}, headers=headers)
    assert v1.status_code == 403
    assert v1.json()["error"]["code"] == "PERMISSION_DENIED"
    assert not await experiment_exists(open_client, name)


async def test_same_origin_browser_writes_pass(open_client: httpx.AsyncClient) -> None:
    name = unique("same")
    response = await open_client.post(
        CREATE,
        json={"name": name},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200, response.text
    assert await experiment_exists(open_client, name)


async def test_cross_site_reads_are_not_refused(open_client: httpx.AsyncClient) -> None:
    # What a cross-site page may read is the browser's CORS business; this server grants none.
    response = await open_client.get(
        "/api/v1/experiments", headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 200


async def test_cross_site_writes_with_auth_on_need_an_api_key(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    key = bearer(world.keys["a_editor"])
    name = unique("keyed")
    with_key = await auth_client.post(
        CREATE, json={"name": name}, headers={**key, "Origin": "http://evil.example"}
    )
    assert with_key.status_code == 200, with_key.text
    assert await experiment_exists(auth_client, name, key)

    # Basic credentials may be cached by a browser and sent by it: they do not exempt.
    other = unique("basic")
    basic = httpx.BasicAuth("alice", world.users["alice"])
    refused = await auth_client.post(
        CREATE,
        json={"name": other},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        auth=basic,
    )
    assert refused.status_code == 403
    assert not await experiment_exists(auth_client, other, key)


async def test_text_plain_is_refused_even_with_an_api_key(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    key = bearer(world.keys["a_editor"])
    name = unique("keyed-plain")
    response = await auth_client.post(
        CREATE, content=f'{{"name": "{name}"}}', headers={**key, "content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert not await experiment_exists(auth_client, name, key)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5005", "192.168.1.20"])
async def test_a_loopback_server_refuses_other_host_names_and_creates_nothing(
    open_client: httpx.AsyncClient, host: str
) -> None:
    name = unique("rebound")
    response = await open_client.post(CREATE, json={"name": name}, headers={"Host": host})
    assert response.status_code == 421
    assert response.json()["error_code"] == "MISDIRECTED_REQUEST"
    refused_read = await open_client.get("/api/v1/experiments", headers={"Host": host})
    assert refused_read.status_code == 421
    assert not await experiment_exists(open_client, name)


@pytest.mark.parametrize("host", ["localhost", "localhost:5005", "127.0.0.1:8080", "[::1]:5005"])
async def test_a_loopback_server_answers_loopback_names_on_any_port(
    open_client: httpx.AsyncClient, host: str
) -> None:
    response = await open_client.get("/api/v1/experiments", headers={"Host": host})
    assert response.status_code == 200


async def test_a_malformed_host_is_a_400(open_client: httpx.AsyncClient) -> None:
    response = await open_client.get("/api/v1/experiments", headers={"Host": "a b@c"})
    assert response.status_code == 400


async def test_allowed_hosts_setting_adds_names_and_subdomains(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(
        update={"allowed_hosts": ["Tracker.Example.com", "*.corp.example"]}
    )
    async with running_app(settings) as (_, client):

        async def status(host: str) -> int:
            return (await client.get("/healthz", headers={"Host": host})).status_code

        assert await status("tracker.example.com:8443") == 200
        assert await status("ml.corp.example") == 200
        assert await status("localhost:5005") == 200
        assert await status("corp.example") == 421
        assert await status("evil.example") == 421
        assert await status("tracker.example.com.evil.example") == 421


def test_allowed_hosts_default_follows_the_bind_address() -> None:
    loopback = HostAllowList.from_entries([], "127.0.0.1")
    assert loopback.allows("localhost")
    assert loopback.allows("[::1]")
    assert not loopback.allows("evil.example")
    assert not HostAllowList.from_entries([], "::1").allows("evil.example")
    assert not HostAllowList.from_entries([], "localhost").allows("evil.example")
    assert HostAllowList.from_entries([], "0.0.0.0").allows("tracker.example.com")
    assert HostAllowList.from_entries(["*"], "127.0.0.1").allows("evil.example")
    assert HostAllowList.from_entries(["::1"], "0.0.0.0").allows("[::1]")
    restricted = HostAllowList.from_entries(["tracker.example.com"], "0.0.0.0")
    assert not restricted.allows("evil.example")


def test_allowed_hosts_with_a_port_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="list no ports"):
        HostAllowList.from_entries(["tracker.example.com:443"], "0.0.0.0")


def test_allowed_hosts_are_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACKBOARD_ALLOWED_HOSTS", "a.example, *.b.example")
    assert Settings().allowed_hosts == ["a.example", "*.b.example"]


async def open_socket(app: FastAPI, headers: dict[str, str]) -> list[Message]:
    """The messages the app sends for a WebSocket handshake with `headers`."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/api/v1/ws",
        "raw_path": b"/api/v1/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 5005),
        "subprotocols": [],
        "state": {},
        "app": app,
    }
    sent: list[Message] = []
    received = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return received.pop(0) if received else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example:5005", "Origin": "http://evil.example:5005"},
        {"Host": "localhost:5005", "Origin": "http://evil.example"},
        {"Host": "localhost:5005", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_foreign_or_cross_site_sockets_are_closed_before_accepting(
    open_app: tuple[FastAPI, httpx.AsyncClient], headers: dict[str, str]
) -> None:
    sent = await open_socket(open_app[0], headers)
    assert sent[0]["type"] == "websocket.close"
    assert sent[0]["code"] == 1008
