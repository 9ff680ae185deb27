"""Every route has an access decision, and each is enforced (MLflow CVE-2026-2652 class).

The table is read from the app itself, so a router added tomorrow is checked too: a route
without a decision fails `test_every_route_has_an_access_decision`, and the request tests
below send each route its kind of bad credentials.
"""

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.gateway.harness import World, bearer
from trackboard.server.gateway.access_policy import Access, decide


def route_table(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every HTTP and websocket route, mounted ones included."""
    for context in iter_route_contexts(app.routes):
        path = context.path
        assert path is not None
        methods = context.methods or {"WEBSOCKET"}
        for method in sorted(methods - {"HEAD"}):
            yield method, path


def concrete(template: str, world: World, project: str = "a") -> str:
    """A real path for a template, with ids of `project`'s resources."""
    values = {
        "experiment_id": str(world.experiments[project]),
        "run_id": world.runs[project],
        "project_id": str(world.projects[project]),
        "rule_id": str(world.rules[project]),
        "model_id": world.models[project],
        "tag_key": "k",
        "key_id": "1",
        "view_id": "1",
        "username": "alice",
        "name": "anything",
        "key": "loss",
        "path": "x",
        "artifact_path": f"{world.experiments[project]}/{world.runs[project]}/artifacts/f.txt",
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], template)


def mlflow_body(world: World, project: str) -> dict[str, object]:
    return {
        "experiment_id": str(world.experiments[project]),
        "run_id": world.runs[project],
        "run_uuid": world.runs[project],
        "experiment_ids": [str(world.experiments[project])],
    }


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, object], key: str = ""
) -> httpx.Response:
    """MLflow's way: arguments in the query for GET, in a JSON body otherwise."""
    headers = bearer(key) if key else {}
    if method == "GET":
        params = {k: v for k, v in body.items() if not isinstance(v, list)}
        return await client.get(path, params=params, headers=headers)
    return await client.request(method, path, json=body, headers=headers)


def test_every_route_has_an_access_decision(auth_app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, _ = auth_app
    table = list(route_table(app))
    assert len(table) > 50
    undecided = [(m, p) for m, p in table if decide(m, p) is None]
    assert undecided == [], f"routes without an access decision: {undecided}"


def test_the_mlflow_api_is_decided_by_prefix_and_method() -> None:
    assert decide("GET", "/api/2.0/mlflow/some/new-endpoint") is not None
    assert decide("POST", "/api/2.0/mlflow/runs/search").access is Access.READ  # type: ignore[union-attr]
    assert decide("POST", "/api/2.0/mlflow/some/new-write").access is Access.WRITE  # type: ignore[union-attr]
    assert decide("GET", "/api/v1/brand-new") is None


async def revoke(client: httpx.AsyncClient, world: World, name: str) -> str:
    """Revoke the key `name` of project A through its owner; return the key."""
    key = world.keys[name]
    owner = bearer(world.keys["a_owner"])
    listed = await client.get(f"/api/v1/projects/{world.projects['a']}/keys", headers=owner)
    key_id = next(k["id"] for k in listed.json()["keys"] if key.startswith(k["prefix"] + "_"))
    response = await client.delete(
        f"/api/v1/projects/{world.projects['a']}/keys/{key_id}", headers=owner
    )
    assert response.status_code == 200
    return key


@pytest.mark.parametrize("credentials", ["none", "invalid", "revoked"])
async def test_bad_credentials_are_401_on_every_non_public_route(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World, credentials: str
) -> None:
    app, client = auth_app
    key = {
        "none": "",
        "invalid": "tbk_invalid0_" + "A" * 43,
        "revoked": await revoke(client, world, "a_editor") if credentials == "revoked" else "",
    }[credentials]
    checked = 0
    for method, template in route_table(app):
        decision = decide(method, template)
        assert decision is not None
        if decision.access is Access.PUBLIC or method == "WEBSOCKET":
            continue
        path = concrete(template, world)
        response = await send(client, method, path, mlflow_body(world, "a"), key)
        # Refused credentials also spend the address's failure budget: past it, 429.
        expected = {401} if credentials == "none" or checked < 10 else {401, 429}
        assert response.status_code in expected, (method, path, response.text)
        checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer tbk_nonexistent_0000000000000000000000000000000000000000000",
        "Bearer not-a-key",
        "Bearer ",
        "Basic !!!notbase64",
        "Basic dXNlcjp3cm9uZy1wYXNzd29yZA==",  # user:wrong-password
        "Token abc",
        "Bearer " + "x" * 5000,
    ],
)
async def test_invalid_credentials_are_401_everywhere_even_on_public_routes(
    auth_client: httpx.AsyncClient, authorization: str
) -> None:
    for path in ("/api/v1/experiments", "/api/2.0/mlflow/experiments/search", "/healthz"):
        response = await auth_client.get(path, headers={"Authorization": authorization})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_key_variants_are_refused(auth_client: httpx.AsyncClient, world: World) -> None:
    key = world.keys["a_viewer"]
    prefix = key[: key.index("_", 4)]
    for variant in (key.upper(), f" {key}x", key[:-1], prefix, key + "\x00"):
        response = await auth_client.get("/api/v1/experiments", headers=bearer(variant))
        assert response.status_code in (400, 401), variant
    assert (await auth_client.get("/api/v1/experiments", headers=bearer(key))).status_code == 200


async def test_other_projects_key_gets_404_on_every_targeted_route(
    auth_app: tuple[FastAPI, httpx.AsyncClient], world: World
) -> None:
    """B's owner key against A's resources: every route answers as if nothing were there."""
    app, client = auth_app
    checked = 0
    for method, template in route_table(app):
        decision = decide(method, template)
        assert decision is not None
        if decision.access in (Access.PUBLIC, Access.AUTHENTICATED) or method == "WEBSOCKET":
            continue
        if "{" not in template and "mlflow" not in template:
            continue  # no target in the path: lists and creates, tested apart
        if template.endswith("{path:path}"):
            continue  # MLflow's catch-all
        path = concrete(template, world, "a")
        response = await send(client, method, path, mlflow_body(world, "a"), world.keys["b_owner"])
        assert response.status_code == 404, (method, path, response.text)
        checked += 1
    assert checked > 40


async def test_revoked_key_is_refused(auth_client: httpx.AsyncClient, world: World) -> None:
    owner = bearer(world.keys["a_owner"])
    listed = await auth_client.get(f"/api/v1/projects/{world.projects['a']}/keys", headers=owner)
    viewer = next(k for k in listed.json()["keys"] if k["role"] == "viewer")
    assert world.keys["a_viewer"].startswith(viewer["prefix"])
    headers = bearer(world.keys["a_viewer"])
    assert (await auth_client.get("/api/v1/experiments", headers=headers)).status_code == 200
    revoked = await auth_client.delete(
        f"/api/v1/projects/{world.projects['a']}/keys/{viewer['id']}", headers=owner
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert "key" not in revoked.json()
    assert (await auth_client.get("/api/v1/experiments", headers=headers)).status_code == 401
