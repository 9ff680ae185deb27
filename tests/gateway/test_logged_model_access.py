"""MLflow 3's logged models with auth on: a model is reached through its experiment's
project, by its id in the path and by its files' path in the artifact proxy."""

import httpx

from tests.gateway.harness import World, bearer

MODELS = "/api/2.0/mlflow/logged-models"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def model_files(world: World, project: str) -> str:
    return f"{ARTIFACTS}/{world.experiments[project]}/models/{world.models[project]}/artifacts"


async def test_a_model_is_reached_through_its_experiments_project(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    model_a = world.models["a"]
    viewer_a, editor_a = bearer(world.keys["a_viewer"]), bearer(world.keys["a_editor"])
    owner_b = bearer(world.keys["b_owner"])
    assert (await auth_client.get(f"{MODELS}/{model_a}", headers=viewer_a)).status_code == 200
    assert (await auth_client.get(f"{MODELS}/{model_a}", headers=owner_b)).status_code == 404
    finalize = {"model_id": model_a, "status": "LOGGED_MODEL_READY"}
    refused = await auth_client.patch(f"{MODELS}/{model_a}", json=finalize, headers=viewer_a)
    assert refused.status_code == 403
    done = await auth_client.patch(f"{MODELS}/{model_a}", json=finalize, headers=editor_a)
    assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    # An id that exists nowhere looks like one of another project's.
    unknown = await auth_client.get(f"{MODELS}/m-{'0' * 32}", headers=viewer_a)
    assert unknown.status_code == 404


async def test_a_models_files_are_reached_through_its_experiments_project(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    editor_a, owner_b = bearer(world.keys["a_editor"]), bearer(world.keys["b_owner"])
    path = f"{model_files(world, 'a')}/MLmodel"
    uploaded = await auth_client.put(path, content=b"flavors: {}\n", headers=editor_a)
    assert uploaded.status_code == 200, uploaded.text
    assert (await auth_client.get(path, headers=editor_a)).content == b"flavors: {}\n"
    assert (await auth_client.get(path, headers=owner_b)).status_code == 404
    assert (await auth_client.put(path, content=b"x", headers=owner_b)).status_code == 404
    # B's model id under A's experiment, and a model folder without an id, name nothing.
    mixed = f"{ARTIFACTS}/{world.experiments['a']}/models/{world.models['b']}/artifacts/x"
    assert (await auth_client.get(mixed, headers=editor_a)).status_code == 404
    listed = await auth_client.get(
        ARTIFACTS, params={"path": f"{world.experiments['a']}/models"}, headers=editor_a
    )
    assert listed.status_code == 404
