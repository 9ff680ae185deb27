"""MLflow's bulk history endpoints over ASGI: runs, order, limits and MLflow's messages."""

from typing import Any

import httpx

from tests.mlflow_compat.test_api import API, mlflow_call, new_run

AJAX = "/ajax-api/2.0/mlflow"
DOCS = " See the API docs for more information about request parameters."


async def run_with_steps(client: httpx.AsyncClient, steps: int, experiment: str) -> str:
    _, run_id = await new_run(client, experiment)
    metrics = [
        {"key": "m", "value": float(s), "timestamp": 100 + s, "step": s} for s in range(steps)
    ]
    await mlflow_call(client, "POST", "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    return run_id


async def interval(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get(API + "/metrics/get-history-bulk-interval", params=params)


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error_code"], body["message"]


async def test_bulk_interval_samples_each_run_as_mlflow_in_the_order_asked(
    client: httpx.AsyncClient,
) -> None:
    ten = await run_with_steps(client, 10, "ten")
    three = await run_with_steps(client, 3, "three")
    response = await interval(client, run_ids=[three, ten, three], metric_key="m", max_results=5)
    rows = response.json()["metrics"]
    assert [(r["run_id"], r["step"]) for r in rows] == [
        *((three, s) for s in range(3)),
        *((ten, s) for s in (0, 2, 4, 6, 9)),
        *((three, s) for s in range(3)),
    ]
    assert rows[3] == {"key": "m", "value": 0.0, "timestamp": 100, "step": 0, "run_id": ten}


async def test_bulk_interval_refuses_what_mlflow_refuses_with_its_messages(
    client: httpx.AsyncClient,
) -> None:
    run_id = await run_with_steps(client, 2, "refused")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metric_key": "m"}, "Missing value for required parameter 'run_ids'." + DOCS),
        ({"run_ids": [run_id]}, "Missing value for required parameter 'metric_key'." + DOCS),
        (
            {"run_ids": [run_id], "metric_key": "m", "max_results": 0},
            "max_results must be between 1 and 2500." + DOCS,
        ),
        (
            {"run_ids": [run_id], "metric_key": "m", "max_results": 2501},
            "max_results must be between 1 and 2500." + DOCS,
        ),
        (
            {"run_ids": [run_id], "metric_key": "m", "max_results": "abc"},
            "Invalid value \"abc\" for parameter 'max_results' supplied:  Hint: Value was of type "
            "'str'." + DOCS,
        ),
        (
            {"run_ids": [run_id] * 101, "metric_key": "m"},
            "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. "
            "Received 101 run_ids." + DOCS,
        ),
        (
            {"run_ids": [run_id], "metric_key": "m", "start_step": 3},
            "If either start step or end step are specified, both must be specified.",
        ),
        (
            {"run_ids": [run_id], "metric_key": "m", "start_step": 5, "end_step": 3},
            "end_step must be greater than start_step. Found start_step=5 and end_step=3.",
        ),
    ]
    for params, message in cases:
        assert error(await interval(client, **params)) == (
            400,
            "INVALID_PARAMETER_VALUE",
            message,
        ), params


async def test_bulk_interval_of_an_unknown_run_or_key_is_empty(client: httpx.AsyncClient) -> None:
    run_id = await run_with_steps(client, 2, "empty")
    unknown = "0123456789abcdef0123456789abcdef"
    assert (await interval(client, run_ids=[unknown], metric_key="m")).json() == {}
    assert (await interval(client, run_ids=[run_id], metric_key="other")).json() == {}


async def test_bulk_history_lists_runs_by_id_up_to_the_limit_in_all(
    client: httpx.AsyncClient,
) -> None:
    first = await run_with_steps(client, 4, "a")
    second = await run_with_steps(client, 4, "b")
    params: dict[str, Any] = {"run_id": [second, first], "metric_key": "m", "max_results": 6}
    rows = (await client.get(AJAX + "/metrics/get-history-bulk", params=params)).json()["metrics"]
    low, high = sorted([first, second])
    assert [(r["run_id"], r["step"]) for r in rows] == [
        *((low, s) for s in range(4)),
        *((high, s) for s in range(2)),
    ]
    nothing: dict[str, Any] = {"run_id": [first], "metric_key": "m", "max_results": 0}
    assert (await client.get(AJAX + "/metrics/get-history-bulk", params=nothing)).json() == {
        "metrics": []
    }


async def test_bulk_history_refuses_what_mlflow_refuses(client: httpx.AsyncClient) -> None:
    run_id = await run_with_steps(client, 1, "bulk-refused")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metric_key": "m"}, "GetMetricHistoryBulk request must specify at least one run_id."),
        ({"run_id": [run_id]}, "GetMetricHistoryBulk request must specify a metric_key."),
        (
            {"run_id": [run_id] * 101, "metric_key": "m"},
            "GetMetricHistoryBulk request cannot specify more than 100 run_ids. "
            "Received 101 run_ids.",
        ),
    ]
    for params, message in cases:
        response = await client.get(AJAX + "/metrics/get-history-bulk", params=params)
        assert error(response) == (400, "INVALID_PARAMETER_VALUE", message), params


async def test_bulk_history_is_served_to_the_web_ui_only(client: httpx.AsyncClient) -> None:
    run_id = await run_with_steps(client, 1, "ajax-only")
    params = {"run_id": [run_id], "metric_key": "m"}
    response = await client.get(API + "/metrics/get-history-bulk", params=params)
    assert (response.status_code, response.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
