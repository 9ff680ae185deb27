"""Per-project authorization: roles, 404 across projects, filtered lists, creates."""

import httpx

from tests.gateway.harness import World, bearer


async def test_viewer_reads_but_cannot_write(auth_client: httpx.AsyncClient, world: World) -> None:
    viewer = bearer(world.keys["a_viewer"])
    run = world.runs["a"]
    assert (await auth_client.get(f"/api/v1/runs/{run}", headers=viewer)).status_code == 200
    writes = [
        ("PATCH", f"/api/v1/runs/{run}", {"name": "x"}),
        ("DELETE", f"/api/v1/runs/{run}", None),
        ("POST", f"/api/v1/runs/{run}/tags", {"tags": {"k": "v"}}),
        ("POST", f"/api/v1/runs/{run}/metrics", {"metrics": [{"key": "l", "value": 1}]}),
        ("POST", f"/api/v1/experiments/{world.experiments['a']}/runs", {}),
        ("POST", "/api/2.0/mlflow/runs/delete", {"run_id": run}),
        ("POST", "/api/v1/experiments", {"name": "viewer-made"}),
    ]
    for method, path, body in writes:
        response = await auth_client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (method, path, response.text)
    after = (await auth_client.get(f"/api/v1/runs/{run}", headers=viewer)).json()
    assert after["lifecycle_stage"] == "active"
    assert after["tags"].get("k") is None


async def test_editor_writes_but_cannot_manage_keys(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    editor = bearer(world.keys["a_editor"])
    response = await auth_client.post(
        f"/api/v1/runs/{world.runs['a']}/tags", json={"tags": {"k": "v"}}, headers=editor
    )
    assert response.status_code == 200
    keys = await auth_client.get(f"/api/v1/projects/{world.projects['a']}/keys", headers=editor)
    assert keys.status_code == 403


async def test_cross_project_answers_look_like_missing_ones(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    other = bearer(world.keys["b_owner"])
    hidden = await auth_client.get(f"/api/v1/runs/{world.runs['a']}", headers=other)
    missing = await auth_client.get(f"/api/v1/runs/{'0' * 32}", headers=other)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    assert hidden.json()["error"]["message"].replace(world.runs["a"], "X") == missing.json()[
        "error"
    ]["message"].replace("0" * 32, "X")


async def test_lists_show_only_the_callers_projects(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    listed = await auth_client.get("/api/v1/experiments", headers=bearer(world.keys["a_viewer"]))
    ids = {e["id"] for e in listed.json()["experiments"]}
    assert ids == {world.experiments["a"]}
    projects = await auth_client.get("/api/v1/projects", headers=bearer(world.keys["b_viewer"]))
    assert [p["id"] for p in projects.json()["projects"]] == [world.projects["b"]]


async def test_search_mixing_own_and_foreign_experiments_is_refused_whole(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    headers = bearer(world.keys["a_viewer"])
    both = [world.experiments["a"], world.experiments["b"]]
    v1 = await auth_client.post(
        "/api/v1/runs/search", json={"experiment_ids": both}, headers=headers
    )
    assert v1.status_code == 404
    mlflow = await auth_client.post(
        "/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [str(e) for e in both]},
        headers=headers,
    )
    assert mlflow.status_code == 404
    own = await auth_client.post(
        "/api/v1/runs/search", json={"experiment_ids": both[:1]}, headers=headers
    )
    assert [r["id"] for r in own.json()["runs"]] == [world.runs["a"]]


async def test_mlflow_batch_naming_a_foreign_run_writes_nothing(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    editor = bearer(world.keys["a_editor"])
    response = await auth_client.post(
        "/api/2.0/mlflow/runs/log-batch",
        json={
            "run_id": world.runs["b"],
            "metrics": [{"key": "stolen", "value": 1, "timestamp": 1, "step": 0}],
        },
        headers=editor,
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    run = await auth_client.get(
        f"/api/v1/runs/{world.runs['b']}", headers=bearer(world.keys["b_viewer"])
    )
    assert "stolen" not in run.json()["metrics"]


async def test_a_key_creates_experiments_in_its_own_project(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    editor = bearer(world.keys["b_editor"])
    v1 = await auth_client.post("/api/v1/experiments", json={"name": "made-by-b"}, headers=editor)
    assert v1.status_code == 201
    a_view = await auth_client.get("/api/v1/experiments", headers=bearer(world.keys["a_owner"]))
    assert "made-by-b" not in {e["name"] for e in a_view.json()["experiments"]}
    b_view = await auth_client.get("/api/v1/experiments", headers=bearer(world.keys["b_viewer"]))
    assert "made-by-b" in {e["name"] for e in b_view.json()["experiments"]}
    # Naming another project explicitly does not help.
    forced = await auth_client.post(
        "/api/v1/experiments",
        json={"name": "forced", "project_id": world.projects["a"]},
        headers=editor,
    )
    assert forced.status_code == 404


async def test_experiments_without_a_project_are_for_admins_only(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    default = await auth_client.get("/api/v1/experiments/0", headers=bearer(world.keys["a_owner"]))
    assert default.status_code == 404
    login = await auth_client.post(
        "/api/v1/auth/login", json={"username": "root", "password": world.users["root"]}
    )
    assert login.status_code == 200
    assert (await auth_client.get("/api/v1/experiments/0")).status_code == 200


async def test_artifact_paths_are_authorized_by_their_experiment_and_run(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    own = f"{world.experiments['a']}/{world.runs['a']}/artifacts/model.txt"
    foreign = f"{world.experiments['b']}/{world.runs['b']}/artifacts/model.txt"
    mixed = f"{world.experiments['a']}/{world.runs['b']}/artifacts/model.txt"
    editor = bearer(world.keys["a_editor"])
    base = "/api/2.0/mlflow-artifacts/artifacts"
    assert (await auth_client.put(f"{base}/{own}", content=b"x", headers=editor)).status_code == 200
    for path in (foreign, mixed):
        response = await auth_client.put(f"{base}/{path}", content=b"x", headers=editor)
        assert response.status_code == 404, path
    root = await auth_client.get(base, headers=editor)
    assert root.status_code == 404


async def test_owner_manages_members_and_the_change_applies_at_once(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    login = await auth_client.post(
        "/api/v1/auth/login", json={"username": "bob", "password": world.users["bob"]}
    )
    assert login.status_code == 200
    assert (await auth_client.get(f"/api/v1/runs/{world.runs['a']}")).status_code == 404
    owner = bearer(world.keys["a_owner"])
    granted = await auth_client.put(
        f"/api/v1/projects/{world.projects['a']}/members/bob",
        json={"role": "viewer"},
        headers=owner,
    )
    assert granted.status_code == 200
    assert (await auth_client.get(f"/api/v1/runs/{world.runs['a']}")).status_code == 200
    removed = await auth_client.delete(
        f"/api/v1/projects/{world.projects['a']}/members/bob", headers=owner
    )
    assert removed.status_code == 204
    assert (await auth_client.get(f"/api/v1/runs/{world.runs['a']}")).status_code == 404


async def test_owner_creates_a_key_that_is_shown_once(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    owner = bearer(world.keys["a_owner"])
    created = await auth_client.post(
        f"/api/v1/projects/{world.projects['a']}/keys",
        json={"role": "viewer", "name": "ci"},
        headers=owner,
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"] + "_")
    listed = await auth_client.get(f"/api/v1/projects/{world.projects['a']}/keys", headers=owner)
    assert key not in listed.text
    me = await auth_client.get("/api/v1/auth/me", headers=bearer(key))
    assert me.json()["projects"] == {str(world.projects["a"]): "viewer"}


async def test_mlflow_basic_auth_takes_a_key_or_a_password(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    run = world.runs["a"]
    for auth in (("token", world.keys["a_viewer"]), ("alice", world.users["alice"])):
        response = await auth_client.get(
            "/api/2.0/mlflow/runs/get", params={"run_id": run}, auth=auth
        )
        assert response.status_code == 200, (auth[0], response.text)
    wrong = await auth_client.get(
        "/api/2.0/mlflow/runs/get", params={"run_id": run}, auth=("alice", "wrong password!")
    )
    assert wrong.status_code == 401


# The MLflow routes call the experiments services themselves, passing the gateway's
# decision on (`TargetProject`, `VisibleProjects` in gateway/dependencies.py).
async def test_mlflow_created_experiments_go_to_the_keys_project(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    created = await auth_client.post(
        "/api/2.0/mlflow/experiments/create",
        json={"name": "made-by-b-mlflow"},
        headers=bearer(world.keys["b_editor"]),
    )
    assert created.status_code == 200, created.text
    b_view = await auth_client.get("/api/v1/experiments", headers=bearer(world.keys["b_viewer"]))
    assert "made-by-b-mlflow" in {e["name"] for e in b_view.json()["experiments"]}


async def test_mlflow_experiment_search_shows_only_the_callers_projects(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    found = await auth_client.post(
        "/api/2.0/mlflow/experiments/search",
        json={"max_results": 100},
        headers=bearer(world.keys["a_viewer"]),
    )
    assert {int(e["experiment_id"]) for e in found.json()["experiments"]} == {
        world.experiments["a"]
    }
