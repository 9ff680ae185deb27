"""MLflow's one-point writes are dispatched by exact path (`server.route_table`): the route
they reach must be the one FastAPI's router selects, with the scope FastAPI prepares."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from trackboard.server.app import create_app
from trackboard.server.config import Settings
from trackboard.server.mlflow_compat.routes import HOT_PATHS
from trackboard.server.route_table import RouteTable, select_routes


def build_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    return create_app(Settings(home=tmp_path, log_json=False, log_level="WARNING", **overrides))


def probe(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


async def nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def ignore(message: Any) -> None:
    return None


def table_of(app: FastAPI) -> RouteTable:
    table = app.router.middleware_stack
    assert isinstance(table, RouteTable)
    return table


def test_every_hot_path_is_tabled(tmp_path: Path) -> None:
    assert set(table_of(build_app(tmp_path)).table) == set(HOT_PATHS)


@pytest.mark.parametrize(("method", "path"), HOT_PATHS)
async def test_the_scope_is_what_fastapi_prepares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    app = build_app(tmp_path)
    table = table_of(app)
    route = table.table[(method, path)].route
    seen: list[dict[str, Any]] = []

    async def capture(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append({**scope, "fastapi": dict(scope["fastapi"])})

    monkeypatch.setattr(route, "handle", capture)
    await app.router.app(probe(method, path), nothing, ignore)  # FastAPI's own routing
    await table(probe(method, path), nothing, ignore)
    by_fastapi, by_table = seen
    assert by_table.keys() == by_fastapi.keys()
    for key, value in by_fastapi.items():
        if key == "fastapi":
            assert by_table[key].keys() == value.keys()
            for name, item in value.items():
                assert by_table[key][name] is item, name
        else:
            assert by_table[key] == value, key


async def test_other_requests_go_through_fastapi(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    # An untabled path, and a tabled path with another method: FastAPI's answers.
    assert select_routes(app, [("GET", "/healthz")])  # FastAPI would select an APIRoute
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/healthz")).status_code == 200
            # FastAPI gives a GET of log-metric to MLflow's catch-all: ENDPOINT_NOT_FOUND.
            wrong_method = await client.get("/api/2.0/mlflow/runs/log-metric")
            assert wrong_method.status_code == 404
            assert wrong_method.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_a_path_an_earlier_route_takes_is_not_tabled(tmp_path: Path) -> None:
    # MLflow's catch-all answers unknown endpoints; FastAPI selects it for this path, and
    # a catch-all is not what the table is for, but it is still FastAPI's selection.
    app = build_app(tmp_path)
    found = select_routes(app, [("POST", "/api/2.0/mlflow/runs/log-nothing")])
    assert [s.route.path for s in found.values()] == ["/api/2.0/mlflow/{path:path}"]


async def test_log_metric_through_the_table_is_authorized(tmp_path: Path) -> None:
    app = build_app(tmp_path, auth=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            answer = await client.post(
                "/api/2.0/mlflow/runs/log-metric",
                json={"run_id": "0" * 32, "key": "loss", "value": 1.0, "timestamp": 1},
            )
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
