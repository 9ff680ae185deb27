"""Request bodies are bounded per route class: 413 in the caller's error shape, before or
while the body is read, never after buffering it."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from tests.gateway.harness import running_app
from trackboard.server.config import Settings
from trackboard.server.gateway.body_limit import (
    MLFLOW_BATCH_BYTES,
    BodyLimitMiddleware,
    BodyLimits,
)

MiB = 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
async def open_app(
    sqlite_settings: Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = sqlite_settings.model_copy(update={"max_artifact_bytes": 3 * MiB})
    async with running_app(settings) as pair:
        yield pair


class Chunks:
    """A streamed request body (sent chunked, without Content-Length) that counts what the
    server pulled of it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b"x" * CHUNK


def assert_refused(response: httpx.Response, mlflow: bool = False) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["connection"] == "close"
    body = response.json()
    if mlflow:
        assert body["error_code"] == "RESOURCE_LIMIT_EXCEEDED"
        assert "limit" in body["message"]
    else:
        assert body["error"]["code"] == "RESOURCE_LIMIT_EXCEEDED"
        assert "limit" in body["error"]["message"]


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read() -> None:
    reached: list[str] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append("app")

    async def receive() -> Message:
        reached.append("receive")
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(app, BodyLimits(default=MiB, artifact=10 * MiB))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/auth/login",
        "headers": [(b"content-length", str(300 * MiB).encode())],
    }
    await middleware(scope, receive, send)
    assert reached == []
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"RESOURCE_LIMIT_EXCEEDED" in sent[1]["body"]


async def test_an_oversized_login_body_is_a_413_in_the_v1_shape(
    auth_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = auth_app
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username": "alice", "password": "' + b"x" * (2 * MiB) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert_refused(response)


async def test_a_chunked_body_is_stopped_at_the_limit(
    auth_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = auth_app
    body = Chunks(100 * MiB)
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert_refused(response)
    assert body.pulled <= MiB + 2 * CHUNK


async def test_mlflow_paths_get_the_mlflow_error_shape(
    open_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = open_app
    response = await client.post(
        "/api/2.0/mlflow/experiments/create", content=Chunks(4 * MiB), headers=json_type()
    )
    assert_refused(response, mlflow=True)
    batch = await client.post(
        "/api/2.0/mlflow/runs/log-batch",
        content=b" " * (MLFLOW_BATCH_BYTES + 1),
        headers=json_type(),
    )
    assert_refused(batch, mlflow=True)


def json_type() -> dict[str, str]:
    return {"content-type": "application/json"}


async def test_full_metric_batches_with_the_longest_keys_are_accepted(
    open_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = open_app
    experiment = await client.post("/api/v1/experiments", json={"name": "bounds"})
    experiment_id = experiment.json()["id"]
    run = await client.post(f"/api/v1/experiments/{experiment_id}/runs", json={})
    run_id = run.json()["id"]
    key = "k" * 250
    points = [
        {"key": key, "value": 0.5, "step": i, "timestamp": 1700000000000} for i in range(10_000)
    ]
    v1 = await client.post(f"/api/v1/runs/{run_id}/metrics", json={"metrics": points})
    assert v1.status_code in (200, 202), v1.text
    assert int(v1.request.headers["content-length"]) > 2 * MiB
    mlflow = await client.post(
        "/api/2.0/mlflow/runs/log-batch",
        json={
            "run_id": run_id,
            "metrics": [{**point, "key": "m" * 250} for point in points[:800]],
            "params": [{"key": f"p{i}", "value": "v" * 6000} for i in range(100)],
            "tags": [{"key": f"t{i}", "value": "v" * 8000} for i in range(100)],
        },
    )
    assert mlflow.status_code == 200, mlflow.text
    assert int(mlflow.request.headers["content-length"]) > 1 * MiB


async def test_artifact_uploads_have_their_own_limit_and_leave_nothing_when_refused(
    open_app: tuple[FastAPI, httpx.AsyncClient], sqlite_settings: Settings
) -> None:
    _, client = open_app
    prefix = f"/api/2.0/mlflow-artifacts/artifacts/1/{uuid.uuid4().hex}/artifacts"
    # Over the 1 MiB of other routes, within the 3 MiB of artifacts.
    stored = await client.put(f"{prefix}/model.bin", content=b"m" * (2 * MiB))
    assert stored.status_code == 200, stored.text
    refused = await client.put(f"{prefix}/big.bin", content=Chunks(50 * MiB))
    assert_refused(refused, mlflow=True)
    declared = await client.put(f"{prefix}/bigger.bin", content=b"b" * (4 * MiB))
    assert_refused(declared, mlflow=True)
    listed = await client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": prefix[36:]})
    assert listed.json() == {
        "files": [{"path": "model.bin", "is_dir": False, "file_size": 2 * MiB}]
    }
    assert partial_files(sqlite_settings.home / "artifacts") == []


def partial_files(root: Path) -> list[str]:
    return [path.name for path in root.rglob("*.part")]


async def test_a_run_with_more_than_a_mebibyte_of_params_and_tags_is_created(
    open_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = open_app
    experiment = await client.post("/api/v1/experiments", json={"name": "big-config"})
    experiment_id = experiment.json()["id"]
    params = {f"p{i}": "v" * 6000 for i in range(200)}
    tags = {f"t{i}": "v" * 8000 for i in range(100)}
    run = await client.post(
        f"/api/v1/experiments/{experiment_id}/runs", json={"params": params, "tags": tags}
    )
    assert run.status_code == 201, run.text
    assert int(run.request.headers["content-length"]) > MiB
    more = await client.post(f"/api/v1/runs/{run.json()['id']}/params", json={"params": params})
    assert more.status_code == 200, more.text
    # Other small JSON routes keep the 1 MiB limit.
    renamed = await client.patch(f"/api/v1/runs/{run.json()['id']}", json={"name": "n" * (2 * MiB)})
    assert_refused(renamed)
