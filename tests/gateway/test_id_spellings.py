"""No spelling of an id reaches another project's objects (the `+2` class of bypass).

Every route of the app's own route table (v1, MLflow, ajax-api, artifacts) is sent
requests that name project B's experiment, run and project with ids spelled in many ways,
in the path, the query and the JSON body, by principals of project A and by an admin, on
SQLite and PostgreSQL. A spelling the strict id parser refuses must be a 400 for everyone
who is authenticated (the request never reaches a handler); nothing may answer 2xx to A's
principals, and B must be unchanged afterwards. The live socket is covered at the end.
"""

import base64
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.harness import PASSWORD, World, bearer, running_app, seed_world
from tests.gateway.test_route_table import revoke, route_table
from trackboard.server.accounts import service as accounts
from trackboard.server.config import Settings
from trackboard.server.errors import InvalidParameter
from trackboard.server.gateway.access_policy import Access, decide
from trackboard.server.gateway.request_targets import V1_BODY_ROUTES
from trackboard.server.identifiers import INT64_MAX, parse_id, parse_run_id

FULLWIDTH = {ord(d): chr(0xFF10 + int(d)) for d in "0123456789"}
ARABIC_INDIC = {ord(d): chr(0x0660 + int(d)) for d in "0123456789"}

# Each turns the canonical decimal text of an id into another spelling of it.
ID_SPELLINGS: dict[str, Callable[[int], str]] = {
    "plus": lambda n: f"+{n}",
    "encoded-plus": lambda n: f"%2B{n}",
    "decimal": lambda n: f"{n}.0",
    "leading-zero": lambda n: f"0{n}",
    "leading-space": lambda n: f" {n}",
    "trailing-space": lambda n: f"{n} ",
    "trailing-newline": lambda n: f"{n}\n",
    "exponent": lambda n: f"{n}e0",
    "hex": lambda n: hex(n),
    "underscore": lambda n: f"0_{n}",
    "fullwidth": lambda n: str(n).translate(FULLWIDTH),
    "arabic-indic": lambda n: str(n).translate(ARABIC_INDIC),
    "wraps-64-bits": lambda n: str(n + 2**64),
    "very-large": lambda n: "9" * 40 + str(n),
}
RUN_SPELLINGS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "leading-space": lambda r: f" {r}",
    "trailing-space": lambda r: f"{r} ",
    "trailing-newline": lambda r: f"{r}\n",
    "fullwidth": lambda r: r.translate(FULLWIDTH),
}
PRINCIPALS = ("none", "revoked", "a_viewer", "a_editor", "a_owner", "admin")


@pytest.fixture
async def world_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    auth = settings.model_copy(update={"auth": True, "rate_limit": False})
    async with running_app(auth) as pair:
        yield pair


def in_path(text: str) -> str:
    """Path text as sent: spaces, newlines and non-ASCII percent-encoded, `%2B` kept."""
    return "".join(c if c.isascii() and c.isprintable() and c != " " else _encode(c) for c in text)


def _encode(character: str) -> str:
    return "".join(f"%{byte:02X}" for byte in character.encode())


def spelled_path(
    template: str, world: World, experiment: str, run: str, project: str, rule: str
) -> str:
    values = {
        "experiment_id": experiment,
        "run_id": run,
        "project_id": project,
        "rule_id": rule,
        "key_id": "1",
        "view_id": "1",
        "username": "alice",
        "name": "anything",
        "key": "loss",
        "path": "x",
        "artifact_path": f"{experiment}/{run}/artifacts/f.txt",
        "model_id": world.models["b"],
        "tag_key": "k",
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: in_path(values[m.group(1)]), template)


def body_for(experiment: Any, run: str, project: Any) -> dict[str, Any]:
    """Fields that would make most routes succeed, were the ids let through unchecked."""
    return {
        "experiment_id": experiment,
        "experiment_ids": [experiment],
        "run_id": run,
        "run_uuid": run,
        "run_ids": [run],
        "path": f"{experiment}/{run}",
        "project_id": project,
        "name": "pwned",
        "new_name": "pwned",
        "role": "owner",
        "key": "pwned",
        "value": "1",
        "tags": {"pwned": "1"},
        "params": {"pwned": "1"},
        "status": "KILLED",
        "metric_key": "loss",
        "metrics": [{"key": "pwned", "value": 1.0, "timestamp": 1, "step": 0}],
        "steps": [0],
        "values": {"pwned": [1.0]},
    }


async def send(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    if method == "GET":
        # Query values are text: a JSON number is sent as it would be printed.
        params = {k: str(v) for k, v in body.items() if isinstance(v, str | float)}
        return await client.get(path, params=params, headers=headers)
    if method == "DELETE" and not path.startswith(("/api/2.0", "/ajax-api")):
        return await client.request(method, path, headers=headers)
    return await client.request(method, path, json=body, headers=headers)


async def principals(client: httpx.AsyncClient, world: World) -> dict[str, dict[str, str]]:
    basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    revoked = await revoke(client, world, "a_viewer")
    # The viewer key is revoked above; a fresh viewer comes from A's owner.
    created = await client.post(
        f"/api/v1/projects/{world.projects['a']}/keys",
        json={"role": "viewer"},
        headers=bearer(world.keys["a_owner"]),
    )
    assert created.status_code == 201, created.text
    return {
        "none": {},
        "revoked": bearer(revoked),
        "a_viewer": bearer(created.json()["key"]),
        "a_editor": bearer(world.keys["a_editor"]),
        "a_owner": bearer(world.keys["a_owner"]),
        "admin": {"Authorization": f"Basic {basic}"},
    }


async def snapshot_of_b(client: httpx.AsyncClient, world: World, admin: dict[str, str]) -> object:
    experiment, run, project = world.experiments["b"], world.runs["b"], world.projects["b"]
    reads = [
        f"/api/v1/experiments/{experiment}",
        f"/api/v1/runs/{run}",
        f"/api/v1/projects/{project}/members",
        f"/api/v1/projects/{project}/keys",
        f"/api/v1/runs/{run}/metrics/pwned",
        f"/api/v1/notification-rules/{world.rules['b']}",
        f"/api/v1/notification-rules/{world.rules['b']}/deliveries",
    ]
    state = [(await client.get(path, headers=admin)).json() for path in reads]
    search = await client.post(
        "/api/v1/runs/search", json={"experiment_ids": [experiment]}, headers=admin
    )
    state.append(search.json())
    return state


async def projects_of_created(app: FastAPI) -> set[int | None]:
    """The projects of the experiments the requests created (named "pwned")."""
    async with app.state.database.transaction(write=False) as session:
        return {project for _, project in await accounts.experiments_named(session, "pwned")}


def targeted_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Routes that need a role in the project of what they name (not lists or public)."""
    routes = []
    for method, template in route_table(app):
        decision = decide(method, template)
        assert decision is not None, (method, template)
        if method == "WEBSOCKET" or decision.access in (Access.PUBLIC, Access.AUTHENTICATED):
            continue
        routes.append((method, template))
    return routes


def refused(response: httpx.Response, who: str, spelled: bool, variant: str) -> bool:
    """What each principal must get: never a 2xx, and a 400 for every spelled id."""
    status = response.status_code
    if status == 404 and "ENDPOINT_NOT_FOUND" in response.text:
        return True  # matched no route (a newline inside a path parameter): nothing ran
    if who == "none":
        return status == 401
    if who == "revoked":
        return status in (401, 429)  # failed credentials spend the address's budget
    if variant.startswith("run-"):
        # Run ids are text compared as is: another case or a space names no run (404).
        return status in (400, 403, 404)
    if spelled:
        return status == 400  # refused by the id parser, before any handler
    return status in (400, 403, 404)


async def test_no_id_spelling_reaches_another_projects_objects(
    world_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = world_app
    world = await seed_world(app, client)
    who = await principals(client, world)
    before = await snapshot_of_b(client, world, who["admin"])
    experiment, run, project = world.experiments["b"], world.runs["b"], world.projects["b"]
    routes = targeted_routes(app)
    assert len(routes) > 50
    rule = world.rules["b"]
    # (name, experiment in the path, run, project in the path, rule in the path,
    # experiment id in the body)
    variants: list[tuple[str, str, str, str, str, Any]] = []
    for name, spell in ID_SPELLINGS.items():
        variants.append(
            (name, spell(experiment), run, spell(project), spell(rule), spell(experiment))
        )
    for name, spell_run in RUN_SPELLINGS.items():
        variants.append(
            (f"run-{name}", str(experiment), spell_run(run), str(project), str(rule), None)
        )
    # A JSON number a lenient parser would read as the id (paths keep the `.0` spelling).
    variants.append(
        ("json-float", f"{experiment}.0", run, f"{project}.0", f"{rule}.0", float(experiment))
    )
    failures = []
    sent = 0
    for method, template in routes:
        for name, path_experiment, path_run, path_project, path_rule, body_experiment in variants:
            path = spelled_path(template, world, path_experiment, path_run, path_project, path_rule)
            spelled_body = body_for(body_experiment, path_run, body_experiment)
            spelled = carries_spelled_id(template, name)
            decision = decide(method, template)
            creates = decision is not None and decision.unscoped and method == "POST"
            for principal in PRINCIPALS:
                if principal == "admin" and not admin_may_send(template, name):
                    continue  # a canonical request by an admin would legitimately change B
                response = await send(client, method, path, spelled_body, who[principal])
                sent += 1
                if creates and not spelled and response.status_code in (200, 201, 409):
                    continue  # created in A (the caller's project): names nothing of B
                if not refused(response, principal, spelled, name):
                    failures.append((principal, name, method, path, response.status_code))
    assert sent > 5000
    assert failures == [], f"{len(failures)} requests got through, e.g. {failures[:20]}"
    assert await snapshot_of_b(client, world, who["admin"]) == before
    assert world.projects["b"] not in await projects_of_created(app)


def carries_spelled_id(template: str, variant: str) -> bool:
    """Whether the variant's spelled id is in a part of the request the route reads."""
    if variant.startswith("run-"):
        return "{run_id}" in template or "{artifact_path" in template or is_mlflow(template)
    in_path = any(f"{{{name}" in template for name in ("experiment_id", "project_id", "rule_id"))
    # An MLflow artifact path starts with ids (`<experiment>/<run>/artifacts/…`); a v1 run's
    # artifact path is a file path inside the run (its run is `{run_id}`), so the spelled
    # id there only names a file that does not exist.
    ids_in_artifact_path = "{artifact" in template and not template.startswith("/api/v1/")
    return in_path or ids_in_artifact_path or is_mlflow(template) or template in V1_BODY_ROUTES


def admin_may_send(template: str, variant: str) -> bool:
    """An admin may change B: only requests whose every id is spelled are sent."""
    if variant.startswith("run-"):
        return "{run_id}" in template and not is_mlflow(template)
    return carries_spelled_id(template, variant)


def is_mlflow(template: str) -> bool:
    """MLflow routes read ids from the query or body (artifact listings: `path`)."""
    return template.startswith(("/api/2.0/mlflow", "/ajax-api/2.0/mlflow/"))


@pytest.mark.parametrize(
    "text",
    [
        "+2",
        "2.0",
        "02",
        " 2",
        "2 ",
        "2\n",
        "2e0",
        "0x2",
        "0_2",
        "\uff12",
        "\u0662",
        "-0",
        "",
        "1" * 20,
    ],
)
def test_the_id_parser_accepts_one_spelling_only(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_id(text)


def test_the_id_parser_reads_canonical_text_and_json_integers() -> None:
    assert parse_id("0") == 0
    assert parse_id("2") == 2
    assert parse_id(str(INT64_MAX)) == INT64_MAX
    assert parse_id(7) == 7
    for value in (True, 2.0, INT64_MAX + 1, -1, None, [2]):
        with pytest.raises(InvalidParameter):
            parse_id(value)


@pytest.mark.parametrize(
    "text", ["", " abc", "abc ", "a\n", "\uff41\uff42\uff43", "a/b", "a.b", "x" * 257]
)
def test_the_run_id_parser_refuses_other_text(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_run_id(text)


async def test_a_name_held_in_two_projects_is_read_by_name_only_with_access_to_both(
    world_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    """A's deleted experiment and B's active one share a name; by-name picks B's."""
    app, client = world_app
    world = await seed_world(app, client)
    a_editor, b_editor = bearer(world.keys["a_editor"]), bearer(world.keys["b_editor"])
    created = await client.post("/api/v1/experiments", json={"name": "shared"}, headers=a_editor)
    assert created.status_code == 201, created.text
    deleted = await client.delete(f"/api/v1/experiments/{created.json()['id']}", headers=a_editor)
    assert deleted.status_code == 200, deleted.text
    in_b = await client.post("/api/v1/experiments", json={"name": "shared"}, headers=b_editor)
    assert in_b.status_code == 201, in_b.text
    a_viewer = bearer(world.keys["a_viewer"])
    for response in (
        await client.get("/api/v1/experiments/by-name/shared", headers=a_viewer),
        await client.get(
            "/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": "shared"},
            headers=a_viewer,
        ),
    ):
        assert response.status_code == 404, response.text
        assert str(in_b.json()["id"]) not in response.text
