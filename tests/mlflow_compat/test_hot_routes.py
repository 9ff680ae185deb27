"""MLflow's one-point writes sit in a router the app includes first (`hot_router`): each hot
path must reach its hot route, with the full router's handler and the app's dependencies,
and every other request must be routed as before."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from trackboard.server.app import create_app
from trackboard.server.config import Settings
from trackboard.server.mlflow_compat.routes import HOT_PATHS, hot_router
from trackboard.server.mlflow_compat.routes import router as mlflow_router


def build_app(tmp_path: Path, **overrides: Any) -> FastAPI:
    return create_app(Settings(home=tmp_path, log_json=False, log_level="WARNING", **overrides))


def probe(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


async def nothing() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def ignore(message: Any) -> None:
    return None


def routes_of(router: Any) -> dict[str, APIRoute]:
    """Full path -> route, included routers walked (the full MLflow router nests them)."""
    found: dict[str, APIRoute] = {}
    for route in router.routes:
        if isinstance(route, APIRoute):
            found.setdefault(route.path, route)
        elif hasattr(route, "original_router"):
            prefix = route.include_context.prefix or ""
            for path, inner in routes_of(route.original_router).items():
                found.setdefault(prefix + path, inner)
    return found


def test_hot_routes_run_the_full_routers_handlers() -> None:
    hot = routes_of(hot_router)
    full = routes_of(mlflow_router)
    assert set(hot) == {path for _, path in HOT_PATHS}
    for method, path in HOT_PATHS:
        assert hot[path].methods == {method}
        assert hot[path].endpoint is full[path].endpoint
        assert not hot[path].include_in_schema  # the full router's copy documents it


@pytest.mark.parametrize(("method", "path"), HOT_PATHS)
async def test_a_hot_path_reaches_its_hot_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> None:
    app = build_app(tmp_path)
    hot = routes_of(hot_router)[path]
    seen: list[Any] = []

    async def capture(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["route"])

    monkeypatch.setattr(hot, "handle", capture)
    await app.router.app(probe(method, path), nothing, ignore)  # FastAPI's own routing
    assert seen == [hot]


async def test_other_requests_are_routed_as_before(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/healthz")).status_code == 200
            # A GET of log-metric goes on to MLflow's catch-all: ENDPOINT_NOT_FOUND.
            wrong_method = await client.get("/api/2.0/mlflow/runs/log-metric")
            assert wrong_method.status_code == 404
            assert wrong_method.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_the_openapi_document_lists_each_hot_path_once(tmp_path: Path) -> None:
    paths = build_app(tmp_path).openapi()["paths"]
    assert "post" in paths["/api/2.0/mlflow/runs/log-metric"]
    assert "/ajax-api/2.0/mlflow/runs/log-metric" not in paths


async def test_log_metric_through_the_hot_router_is_authorized(tmp_path: Path) -> None:
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
