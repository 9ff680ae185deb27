"""The live-updates socket with auth on: who may connect, and what they may subscribe to."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.gateway.harness import World, seed_world
from trackboard.server.app import create_app
from trackboard.server.config import Settings


@dataclass
class Served:
    base: str
    http: httpx.AsyncClient
    world: World


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def served(sqlite_settings: Settings) -> AsyncIterator[Served]:
    app = create_app(sqlite_settings.model_copy(update={"auth": True, "rate_limit": False}))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.02)
    base = f"127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        yield Served(base, http, await seed_world(app, http))
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def test_an_anonymous_socket_is_refused(served: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{served.base}/api/v1/ws", open_timeout=5):
            pass
    assert refused.value.response.status_code == 401


async def test_a_cookie_socket_must_come_from_the_same_origin(served: Served) -> None:
    login = await served.http.post(
        "/api/v1/auth/login", json={"username": "alice", "password": served.world.users["alice"]}
    )
    assert login.status_code == 200
    cookie = f"tb_session={served.http.cookies['tb_session']}"
    with pytest.raises(InvalidStatus):
        async with connect(
            f"ws://{served.base}/api/v1/ws",
            additional_headers={"Cookie": cookie},
            origin="http://evil.example",  # type: ignore[arg-type]
            open_timeout=5,
        ):
            pass
    async with connect(
        f"ws://{served.base}/api/v1/ws",
        additional_headers={"Cookie": cookie},
        origin=f"http://{served.base}",  # type: ignore[arg-type]
        open_timeout=5,
    ) as ws:
        await ws.send(json.dumps({"ping": 1}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"event": "pong", "ping": 1}


async def test_a_subscription_to_another_projects_run_is_refused(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.world.keys['b_viewer']}"}
    async with connect(
        f"ws://{served.base}/api/v1/ws", additional_headers=headers, open_timeout=5
    ) as ws:
        await ws.send(json.dumps({"subscribe": {"run_id": served.world.runs["a"]}}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply["event"] == "error", reply


async def test_a_subscription_takes_canonical_ids_only(served: Served) -> None:
    """The socket parses ids like every door: `+N`, `N.0` or `0N` name nothing."""
    experiment = served.world.experiments["a"]
    headers = {"Authorization": f"Bearer {served.world.keys['a_viewer']}"}
    async with connect(
        f"ws://{served.base}/api/v1/ws", additional_headers=headers, open_timeout=5
    ) as ws:
        for spelled in (f"+{experiment}", f"{experiment}.0", f"0{experiment}", f" {experiment}"):
            await ws.send(json.dumps({"subscribe": {"experiment_id": spelled}}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply["event"] == "error", (spelled, reply)
        await ws.send(json.dumps({"subscribe": {"experiment_id": experiment}}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply["event"] == "subscribed", reply
