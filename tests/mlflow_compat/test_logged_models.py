"""MLflow 3's logged models and dataset inputs over ASGI, on SQLite and PostgreSQL: the
answers and error codes the client relies on (what the differential test cannot provoke
from MLflow's server without a 500 there)."""

from typing import Any

import httpx

from tests.mlflow_compat.test_api import API, mlflow_call, new_run

MODELS = API + "/logged-models"


async def create_model(client: httpx.AsyncClient, experiment_id: str, **fields: Any) -> Any:
    response = await client.post(MODELS, json={"experiment_id": experiment_id, **fields})
    assert response.status_code == 200, response.text
    return response.json()["model"]


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


async def test_a_model_goes_from_pending_to_ready_with_params_tags_and_metrics(
    client: httpx.AsyncClient,
) -> None:
    experiment_id, run_id = await new_run(client)
    model = await create_model(
        client,
        experiment_id,
        name="net",
        source_run_id=run_id,
        model_type="classifier",
        params=[{"key": "units", "value": "8"}],
        tags=[{"key": "stage", "value": "dev"}],
    )
    info = model["info"]
    model_id = info["model_id"]
    assert model_id.startswith("m-")
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    assert (info["source_run_id"], info["model_type"]) == (run_id, "classifier")

    metric = {"key": "acc", "value": 0.9, "timestamp": 10, "step": 2, "model_id": model_id}
    metric |= {"dataset_name": "train", "dataset_digest": "abc"}
    batch = {"run_id": run_id, "metrics": [metric]}
    await mlflow_call(client, "POST", "/runs/log-batch", batch)
    await mlflow_call(client, "POST", "/runs/log-batch", batch)  # a client's retry
    await mlflow_call(
        client,
        "POST",
        "/runs/log-metric",
        {"run_id": run_id, "key": "loss", "value": "NaN", "timestamp": 11, "model_id": model_id},
    )
    finalized = await client.patch(f"{MODELS}/{model_id}", json={"model_id": model_id, "status": 2})
    assert finalized.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    tagged = await client.patch(
        f"{MODELS}/{model_id}/tags", json={"tags": [{"key": "owner", "value": "me"}]}
    )
    assert tagged.status_code == 200
    assert (await client.delete(f"{MODELS}/{model_id}/tags/stage")).status_code == 200
    params = {"model_id": model_id, "params": [{"key": "depth", "value": "3"}]}
    assert (await client.post(f"{MODELS}/{model_id}/params", json=params)).status_code == 200

    read = (await client.get(f"{MODELS}/{model_id}")).json()["model"]
    assert read["info"]["tags"] == [{"key": "owner", "value": "me"}]
    assert read["data"]["params"] == [
        {"key": "depth", "value": "3"},
        {"key": "units", "value": "8"},
    ]
    assert read["data"]["metrics"] == [
        {**metric, "run_id": run_id},
        {
            "key": "loss",
            "value": "NaN",
            "timestamp": 11,
            "step": 0,
            "model_id": model_id,
            "run_id": run_id,
        },
    ]
    # The points are the run's too.
    run = await mlflow_call(client, "GET", "/runs/get", {"run_id": run_id})
    assert {m["key"] for m in run["run"]["data"]["metrics"]} == {"acc", "loss"}

    assert (await client.delete(f"{MODELS}/{model_id}")).status_code == 200
    assert error(await client.get(f"{MODELS}/{model_id}")) == (404, "RESOURCE_DOES_NOT_EXIST")
    deleted = await client.get(f"{MODELS}/{model_id}", params={"allow_deleted": "true"})
    assert deleted.json()["model"]["info"]["model_id"] == model_id


async def test_model_mistakes_are_4xx_with_mlflow_codes(client: httpx.AsyncClient) -> None:
    experiment_id, run_id = await new_run(client)
    model_id = (await create_model(client, experiment_id))["info"]["model_id"]
    unknown = "m-0123456789abcdef0123456789abcdef"
    first = {"model_id": model_id, "params": [{"key": "p", "value": "1"}]}
    assert (await client.post(f"{MODELS}/{model_id}/params", json=first)).status_code == 200
    cases = {
        "unknown model": await client.get(f"{MODELS}/{unknown}"),
        "bad name": await client.post(MODELS, json={"experiment_id": experiment_id, "name": "a.b"}),
        "no experiment": await client.post(MODELS, json={"name": "x"}),
        "unknown experiment": await client.post(MODELS, json={"experiment_id": "98765"}),
        "no status": await client.patch(f"{MODELS}/{model_id}", json={"model_id": model_id}),
        "bad status": await client.patch(
            f"{MODELS}/{model_id}", json={"model_id": model_id, "status": "DONE"}
        ),
        "missing tag": await client.delete(f"{MODELS}/{model_id}/tags/nope"),
        "bad id": await client.get(f"{MODELS}/m!x"),
        "bad filter value": await client.post(
            f"{MODELS}/search",
            json={"experiment_ids": [experiment_id], "filter": "metrics.acc > 'x'"},
        ),
        "unknown attribute": await client.post(
            f"{MODELS}/search", json={"experiment_ids": [experiment_id], "filter": "colour = 'x'"}
        ),
        "order by a param": await client.post(
            f"{MODELS}/search",
            json={"experiment_ids": [experiment_id], "order_by": [{"field_name": "params.x"}]},
        ),
        "changed param": await client.post(
            f"{MODELS}/{model_id}/params",
            json={"model_id": model_id, "params": [{"key": "p", "value": "2"}]},
        ),
        "metric of an unknown model": await client.post(
            API + "/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [{"key": "a", "value": 1, "timestamp": 1, "model_id": unknown}],
            },
        ),
        "outputs without models": await client.post(API + "/runs/outputs", json={"run_id": run_id}),
    }
    found = {name: error(response) for name, response in cases.items()}
    not_found = (404, "RESOURCE_DOES_NOT_EXIST")
    invalid = (400, "INVALID_PARAMETER_VALUE")
    assert found == {
        "unknown model": not_found,
        "bad name": invalid,
        "no experiment": invalid,
        "unknown experiment": not_found,
        "no status": invalid,
        "bad status": invalid,
        "missing tag": not_found,
        "bad id": invalid,
        "bad filter value": invalid,
        "unknown attribute": invalid,
        "order by a param": invalid,
        "changed param": invalid,
        "metric of an unknown model": not_found,
        "outputs without models": invalid,
    }


async def test_search_pages_through_models_newest_first(client: httpx.AsyncClient) -> None:
    experiment_id, _ = await new_run(client)
    names = [f"m{index}" for index in range(5)]
    for name in names:
        await create_model(client, experiment_id, name=name)
    seen: list[str] = []
    body: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": 2}
    while True:
        page = await mlflow_call(client, "POST", "/logged-models/search", body)
        seen += [model["info"]["name"] for model in page.get("models", [])]
        if "next_page_token" not in page:
            break
        body["page_token"] = page["next_page_token"]
    assert sorted(seen) == names
    assert len(seen) == len(set(seen))
    by_name = await mlflow_call(
        client,
        "POST",
        "/logged-models/search",
        {
            "experiment_ids": [experiment_id],
            "order_by": [{"field_name": "name", "ascending": False}],
        },
    )
    assert [model["info"]["name"] for model in by_name["models"]] == names[::-1]


async def test_dataset_inputs_keep_every_field_and_show_in_search(
    client: httpx.AsyncClient,
) -> None:
    experiment_id, run_id = await new_run(client)
    model_id = (await create_model(client, experiment_id))["info"]["model_id"]
    dataset = {
        "name": "train",
        "digest": "d1",
        "source_type": "local",
        "source": '{"uri": "/data/train.csv"}',
        # Longer than a tag value may be: inputs are no longer kept in a tag.
        "schema": '{"mlflow_colspec": [' + ", ".join(['{"type": "double"}'] * 600) + "]}",
        "profile": '{"num_rows": 4}',
    }
    tags = [{"key": "mlflow.data.context", "value": "training"}]
    inputs = {"run_id": run_id, "datasets": [{"tags": tags, "dataset": dataset}]}
    await mlflow_call(client, "POST", "/runs/log-inputs", inputs)
    await mlflow_call(client, "POST", "/runs/log-inputs", inputs)  # the same dataset: kept once
    await mlflow_call(
        client, "POST", "/runs/log-inputs", {"run_id": run_id, "models": [{"model_id": model_id}]}
    )
    await mlflow_call(
        client, "POST", "/runs/outputs", {"run_id": run_id, "models": [{"model_id": model_id}]}
    )
    expected_inputs = {
        "dataset_inputs": [{"tags": tags, "dataset": dataset}],
        "model_inputs": [{"model_id": model_id}],
    }
    run = (await mlflow_call(client, "GET", "/runs/get", {"run_id": run_id}))["run"]
    assert run["inputs"] == expected_inputs
    assert run["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 0}]}
    assert "tags" not in run["data"] or all(
        not tag["key"].startswith("trackboard.") for tag in run["data"]["tags"]
    )
    found = await mlflow_call(client, "POST", "/runs/search", {"experiment_ids": [experiment_id]})
    assert found["runs"][0]["inputs"] == expected_inputs

    async def matching(filter_text: str) -> list[str]:
        body = {"experiment_ids": [experiment_id], "filter": filter_text}
        page = await mlflow_call(client, "POST", "/runs/search", body)
        return [run["info"]["run_id"] for run in page.get("runs", [])]

    assert await matching("datasets.context = 'training' and datasets.digest = 'd1'") == [run_id]
    assert await matching("datasets.name IN ('other')") == []
    bad_key = {"experiment_ids": [experiment_id], "filter": "datasets.rows = '4'"}
    assert error(await client.post(API + "/runs/search", json=bad_key)) == (
        400,
        "INVALID_PARAMETER_VALUE",
    )
    by_dataset = {"experiment_ids": [experiment_id], "order_by": ["datasets.name"]}
    assert error(await client.post(API + "/runs/search", json=by_dataset))[0] == 400


async def test_dataset_inputs_over_mlflow_limits_are_refused(client: httpx.AsyncClient) -> None:
    _, run_id = await new_run(client)
    dataset = {"name": "n" * 501, "digest": "d", "source_type": "local", "source": "s"}
    response = await client.post(
        API + "/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": dataset}]}
    )
    assert error(response) == (400, "INVALID_PARAMETER_VALUE")
    run = (await mlflow_call(client, "GET", "/runs/get", {"run_id": run_id}))["run"]
    assert run["inputs"] == {}


async def test_an_import_keeps_a_models_id_and_times_in_its_experiment_only(
    client: httpx.AsyncClient,
) -> None:
    """Trackboard's own fields of create and finalize (`trackboard import mlflow` sends
    them; MLflow's client never does)."""
    experiment_id, _ = await new_run(client)
    model_id = "m-" + "ab" * 16
    kept = {"model_id": model_id, "creation_timestamp_ms": 1000, "last_updated_timestamp_ms": 2000}
    info = (await create_model(client, experiment_id, name="kept", **kept))["info"]
    assert {name: info[name] for name in kept} == kept
    again = await create_model(client, experiment_id, name="other", **kept)
    assert again["info"] == info  # the same id again: the model as it is
    finalized = await client.patch(
        f"{MODELS}/{model_id}",
        json={"model_id": model_id, "status": 2, "last_updated_timestamp_ms": 3000},
    )
    assert finalized.json()["model"]["info"]["last_updated_timestamp_ms"] == 3000

    other_experiment, _ = await new_run(client, "other")
    taken = await client.post(MODELS, json={"experiment_id": other_experiment, **kept})
    assert error(taken) == (400, "INVALID_PARAMETER_VALUE")
    assert "exists in another experiment" in taken.json()["message"]
    for bad in ({"model_id": "m/../x"}, {"creation_timestamp_ms": -1}):
        refused = await client.post(MODELS, json={"experiment_id": experiment_id, **bad})
        assert error(refused) == (400, "INVALID_PARAMETER_VALUE")
