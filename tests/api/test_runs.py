import uuid

import httpx
import pytest

from tests.api.factories import make_experiment, make_run


async def test_created_run_has_defaults_and_a_generated_name(client: httpx.AsyncClient) -> None:
    run = await make_run(client, params={"lr": "0.01"}, tags={"team": "x"}, user="alice")
    assert len(run["id"]) == 32
    assert run["status"] == "RUNNING"
    assert run["end_time"] is None
    assert run["user"] == "alice"
    assert run["params"] == {"lr": "0.01"}
    assert run["tags"]["team"] == "x"
    assert run["tags"]["mlflow.runName"] == run["name"]
    assert run["name"]
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json() == run


async def test_client_chosen_run_id_is_idempotent(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client)
    run_id = uuid.uuid4().hex
    first = await client.post(
        f"/api/v1/experiments/{exp['id']}/runs", json={"id": run_id, "name": "a"}
    )
    again = await client.post(
        f"/api/v1/experiments/{exp['id']}/runs", json={"id": run_id, "name": "a"}
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == run_id


async def test_finishing_a_run_sets_its_end_time(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    response = await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
    assert response.status_code == 200
    assert response.json()["status"] == "FINISHED"
    assert response.json()["end_time"] >= run["start_time"]


async def test_rename_updates_the_run_name_tag(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    renamed = (await client.patch(f"/api/v1/runs/{run['id']}", json={"name": "final"})).json()
    assert renamed["name"] == "final"
    assert renamed["tags"]["mlflow.runName"] == "final"


@pytest.mark.parametrize("body", [{"status": "DONE"}, {"end_time": -1}, {"name": ""}])
async def test_invalid_run_updates_are_400(client: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
    run = await make_run(client)
    response = await client.patch(f"/api/v1/runs/{run['id']}", json=body)
    assert response.status_code == 400
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json() == run


async def test_unknown_run_is_404_everywhere(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4().hex
    for method, path, body in [
        ("GET", f"/api/v1/runs/{missing}", None),
        ("PATCH", f"/api/v1/runs/{missing}", {"status": "FINISHED"}),
        ("DELETE", f"/api/v1/runs/{missing}", None),
        ("POST", f"/api/v1/runs/{missing}/restore", None),
        ("POST", f"/api/v1/runs/{missing}/params", {"params": {"a": "1"}}),
        ("POST", f"/api/v1/runs/{missing}/tags", {"tags": {"a": "1"}}),
        ("DELETE", f"/api/v1/runs/{missing}/tags/a", None),
        ("POST", f"/api/v1/runs/{missing}/metrics", {"metrics": [{"key": "a", "value": 1}]}),
        ("GET", f"/api/v1/runs/{missing}/metrics/a", None),
    ]:
        response = await client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "RESOURCE_DOES_NOT_EXIST"


async def test_run_in_unknown_experiment_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/experiments/4242/runs", json={})
    assert response.status_code == 404


async def test_params_are_immutable_and_a_conflict_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client, params={"lr": "0.01"})
    same = await client.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"lr": "0.01"}})
    assert same.status_code == 200
    conflict = await client.post(
        f"/api/v1/runs/{run['id']}/params", json={"params": {"lr": "0.02", "new": "1"}}
    )
    assert conflict.status_code == 400
    assert "immutable" in conflict.json()["error"]["message"]
    params = (await client.get(f"/api/v1/runs/{run['id']}")).json()["params"]
    assert params == {"lr": "0.01"}


@pytest.mark.parametrize(
    "params", [{"": "1"}, {"k" * 251: "1"}, {"ok": "v" * 6001}, {"../x": "1"}, {"bad$key": "1"}]
)
async def test_invalid_params_are_400(client: httpx.AsyncClient, params: dict) -> None:  # type: ignore[type-arg]
    run = await make_run(client)
    response = await client.post(f"/api/v1/runs/{run['id']}/params", json={"params": params})
    assert response.status_code == 400
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json()["params"] == {}


async def test_tags_are_upserted_and_deleted(client: httpx.AsyncClient) -> None:
    run = await make_run(client, tags={"a": "1"})
    response = await client.post(
        f"/api/v1/runs/{run['id']}/tags", json={"tags": {"a": "2", "b": "3"}}
    )
    assert response.json()["tags"] == {"a": "2", "b": "3", "mlflow.runName": run["name"]}
    assert (await client.delete(f"/api/v1/runs/{run['id']}/tags/a")).status_code == 204
    assert "a" not in (await client.get(f"/api/v1/runs/{run['id']}")).json()["tags"]
    assert (await client.delete(f"/api/v1/runs/{run['id']}/tags/a")).status_code == 404


async def test_deleted_run_refuses_writes_until_restored(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    assert (await client.delete(f"/api/v1/runs/{run['id']}")).json()["lifecycle_stage"] == "deleted"
    refused = await client.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"a": "1"}})
    assert refused.status_code == 400
    metrics = await client.post(
        f"/api/v1/runs/{run['id']}/metrics", json={"metrics": [{"key": "a", "value": 1}]}
    )
    assert metrics.status_code == 400
    restored = await client.post(f"/api/v1/runs/{run['id']}/restore")
    assert restored.json()["lifecycle_stage"] == "active"
    ok = await client.post(f"/api/v1/runs/{run['id']}/params", json={"params": {"a": "1"}})
    assert ok.status_code == 200
