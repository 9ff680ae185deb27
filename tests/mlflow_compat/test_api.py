"""The MLflow API over ASGI, on SQLite and PostgreSQL: one store shared with the v1 API."""

from typing import Any

import httpx

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


async def mlflow_call(
    client: httpx.AsyncClient, method: str, path: str, arguments: dict[str, Any] | None = None
) -> Any:
    if method == "GET":
        response = await client.get(API + path, params=arguments)
    else:
        response = await client.post(API + path, json=arguments or {})
    assert response.status_code == 200, response.text
    return response.json()


async def new_run(client: httpx.AsyncClient, experiment: str = "exp") -> tuple[str, str]:
    created = await mlflow_call(client, "POST", "/experiments/create", {"name": experiment})
    experiment_id = created["experiment_id"]
    body = {"experiment_id": experiment_id, "start_time": 1000, "user_id": "ana", "run_name": "r"}
    run = await mlflow_call(client, "POST", "/runs/create", body)
    return experiment_id, run["run"]["info"]["run_id"]


async def test_data_logged_through_mlflow_is_visible_through_v1(client: httpx.AsyncClient) -> None:
    experiment_id, run_id = await new_run(client)
    await mlflow_call(
        client,
        "POST",
        "/runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [
                {"key": "loss", "value": 1.0, "timestamp": 5, "step": 0},
                {"key": "loss", "value": "NaN", "timestamp": 6, "step": 1},
                {"key": "loss", "value": 0.5, "timestamp": 7, "step": 2},
            ],
            "params": [{"key": "lr", "value": "0.1"}],
            "tags": [{"key": "team", "value": "nlp"}],
        },
    )
    run = (await client.get(f"/api/v1/runs/{run_id}")).json()
    assert run["experiment_id"] == int(experiment_id)
    assert run["params"] == {"lr": "0.1"}
    assert run["tags"]["team"] == "nlp"
    assert run["metrics"]["loss"]["value"] == 0.5
    assert run["metrics"]["loss"]["count"] == 3
    history = (await client.get(f"/api/v1/runs/{run_id}/metrics/loss")).json()
    assert [p["value"] for p in history["points"]] == [1.0, "NaN", 0.5]


async def test_data_logged_through_v1_is_visible_through_mlflow(client: httpx.AsyncClient) -> None:
    experiment = (await client.post("/api/v1/experiments", json={"name": "v1-exp"})).json()
    run = (
        await client.post(
            f"/api/v1/experiments/{experiment['id']}/runs",
            json={"name": "v1-run", "params": {"lr": "0.1"}, "tags": {"k": "v"}},
        )
    ).json()
    points = [
        {"key": "acc", "value": v, "step": s, "timestamp": 100 + s}
        for s, v in enumerate([0.1, 0.9])
    ]
    assert (
        await client.post(f"/api/v1/runs/{run['id']}/metrics", json={"metrics": points})
    ).is_success

    found = await mlflow_call(
        client,
        "POST",
        "/runs/search",
        {
            "experiment_ids": [str(experiment["id"])],
            "filter": "metrics.acc > 0.5 and params.lr = '0.1'",
        },
    )
    assert [r["info"]["run_id"] for r in found["runs"]] == [run["id"]]
    info, data = found["runs"][0]["info"], found["runs"][0]["data"]
    assert info["run_name"] == "v1-run"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment['id']}/{run['id']}/artifacts"
    assert data["metrics"] == [{"key": "acc", "value": 0.9, "timestamp": 101, "step": 1}]
    history = await mlflow_call(
        client, "GET", "/metrics/get-history", {"run_id": run["id"], "metric_key": "acc"}
    )
    assert [(m["step"], m["value"]) for m in history["metrics"]] == [(0, 0.1), (1, 0.9)]
    by_name = await mlflow_call(
        client, "GET", "/experiments/get-by-name", {"experiment_name": "v1-exp"}
    )
    assert by_name["experiment"]["experiment_id"] == str(experiment["id"])


async def test_default_experiment_zero_takes_runs(client: httpx.AsyncClient) -> None:
    run = await mlflow_call(client, "POST", "/runs/create", {"experiment_id": "0", "start_time": 1})
    assert run["run"]["info"]["experiment_id"] == "0"
    default = await mlflow_call(client, "GET", "/experiments/get", {"experiment_id": "0"})
    assert default["experiment"]["name"] == "Default"


async def test_history_pages_follow_the_token(client: httpx.AsyncClient) -> None:
    _, run_id = await new_run(client)
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": i} for i in range(25)]
    await mlflow_call(client, "POST", "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    seen: list[float] = []
    token = None
    while True:
        arguments: dict[str, Any] = {"run_id": run_id, "metric_key": "m", "max_results": 10}
        if token:
            arguments["page_token"] = token
        page = await mlflow_call(client, "GET", "/metrics/get-history", arguments)
        seen += [m["value"] for m in page["metrics"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == [float(i) for i in range(25)]


async def test_bulk_interval_returns_each_runs_points(client: httpx.AsyncClient) -> None:
    _, run_id = await new_run(client)
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": i} for i in range(50)]
    await mlflow_call(client, "POST", "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    response = await client.get(
        API + "/metrics/get-history-bulk-interval",
        params={"run_ids": [run_id], "metric_key": "m", "start_step": 10, "end_step": 19},
    )
    rows = response.json()["metrics"]
    assert [r["step"] for r in rows] == list(range(10, 20))
    assert {r["run_id"] for r in rows} == {run_id}


async def test_dataset_inputs_are_kept_and_shown_as_inputs(client: httpx.AsyncClient) -> None:
    _, run_id = await new_run(client)
    dataset = {"name": "mnist", "digest": "abc123", "source_type": "local", "source": "{}"}
    body = {
        "run_id": run_id,
        "datasets": [
            {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
        ],
    }
    await mlflow_call(client, "POST", "/runs/log-inputs", body)
    run = (await mlflow_call(client, "GET", "/runs/get", {"run_id": run_id}))["run"]
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "mnist"
    assert all(t["key"] != "trackboard.mlflow.inputs" for t in run["data"].get("tags", []))


async def test_ajax_prefix_serves_the_same_api(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}
    )
    assert response.json()["experiment"]["name"] == "Default"


async def test_unknown_endpoint_is_a_json_endpoint_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post(API + "/runs/no-such-thing", json={})
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


async def test_non_json_body_is_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        API + "/experiments/create",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


async def test_artifacts_round_trip(client: httpx.AsyncClient) -> None:
    experiment_id, run_id = await new_run(client)
    root = f"{experiment_id}/{run_id}/artifacts"
    assert (await client.put(f"{ARTIFACTS}/{root}/notes.txt", content=b"hello")).status_code == 200
    assert (
        await client.put(f"{ARTIFACTS}/{root}/sub/dir/x.json", content=b"{}")
    ).status_code == 200

    listing = (await client.get(ARTIFACTS, params={"path": root})).json()
    assert listing == {
        "files": [
            {"path": "notes.txt", "is_dir": False, "file_size": 5},
            {"path": "sub", "is_dir": True},
        ]
    }
    assert (await client.get(ARTIFACTS, params={"path": f"{root}/notes.txt"})).json() == {}
    download = await client.get(f"{ARTIFACTS}/{root}/notes.txt")
    assert download.content == b"hello"

    assert (await client.delete(f"{ARTIFACTS}/{root}/notes.txt")).status_code == 200
    missing = await client.get(f"{ARTIFACTS}/{root}/notes.txt")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


async def test_artifact_paths_leaving_the_store_are_refused(client: httpx.AsyncClient) -> None:
    for path in ("1/../../escape.txt", "..%2F..%2Fescape.txt", "%2Fetc%2Fpasswd", "a\\..\\b"):
        response = await client.put(f"{ARTIFACTS}/{path}", content=b"x")
        assert response.status_code in (400, 404), path
        assert response.status_code < 500
    listing = await client.get(ARTIFACTS, params={"path": "../.."})
    assert (listing.status_code, listing.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    absolute = await client.get(ARTIFACTS, params={"path": "/etc"})
    assert absolute.status_code == 400


async def test_out_of_range_numbers_are_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    _, run_id = await new_run(client)
    huge = 2**70
    requests = [
        ("POST", "/runs/create", {"experiment_id": "0", "start_time": huge}),
        ("POST", "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": huge}),
        ("POST", "/runs/update", {"run_id": run_id, "end_time": -huge}),
        ("POST", "/runs/search", {"experiment_ids": ["0"], "page_token": "eyJvZmZzZXQiOjF9MDAw"}),
        ("POST", "/runs/search", {"experiment_ids": [str(huge)]}),
    ]
    for method, path, body in requests:
        response = await client.request(method, API + path, json=body)
        assert response.status_code == 400, (path, response.text)
    crafted = "eyJvZmZzZXQiOjEwMDAwMDAwMDAwMDAwMDAwMDAwMDB9"  # {"offset":1000000000000000000000}
    search = await client.post(
        API + "/runs/search", json={"experiment_ids": ["0"], "page_token": crafted}
    )
    assert search.status_code == 400
    history = await client.get(
        API + "/metrics/get-history-bulk-interval",
        params={
            "run_ids": [run_id],
            "metric_key": "m",
            "start_step": str(huge),
            "end_step": str(huge),
        },
    )
    assert history.status_code == 400
