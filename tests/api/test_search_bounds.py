"""Filters too big for one store are refused by both alike: a 400, never a 500 on SQLite."""

import httpx
import pytest

from tests.api.factories import make_experiment, make_run
from trackboard.server.search.filter_parser import MAX_FILTER_COMPARISONS, MAX_ORDER_TERMS


def param_terms(count: int) -> str:
    return " and ".join(f"params.p{i} = 'a'" for i in range(count))


@pytest.fixture
async def experiment_id(client: httpx.AsyncClient) -> int:
    experiment = await make_experiment(client, "bounds")
    params = {f"p{i}": "a" for i in range(MAX_FILTER_COMPARISONS)}
    await make_run(client, experiment["id"], name="all-a", params=params)
    return int(experiment["id"])


async def v1_search(
    client: httpx.AsyncClient, experiment_id: int, filter: str, order_by: list[str] | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/runs/search",
        json={"experiment_ids": [experiment_id], "filter": filter, "order_by": order_by or []},
    )


async def mlflow_search(
    client: httpx.AsyncClient, experiment_id: int, filter: str, order_by: list[str] | None = None
) -> httpx.Response:
    return await client.post(
        "/api/2.0/mlflow/runs/search",
        json={
            "experiment_ids": [str(experiment_id)],
            "filter": filter,
            "order_by": order_by or [],
        },
    )


async def test_a_filter_of_2001_and_terms_is_a_400_on_both_doors(
    client: httpx.AsyncClient, experiment_id: int
) -> None:
    text = " and ".join(["metrics.acc > 0"] * 2001)
    v1 = await v1_search(client, experiment_id, text[:10_000])
    assert v1.status_code == 400, v1.text
    assert v1.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    assert "comparisons" in v1.json()["error"]["message"]
    mlflow = await mlflow_search(client, experiment_id, text)
    assert mlflow.status_code == 400, mlflow.text
    assert mlflow.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "comparisons" in mlflow.json()["message"]


async def test_a_filter_naming_more_keys_than_sqlite_can_join_is_a_400(
    client: httpx.AsyncClient, experiment_id: int
) -> None:
    response = await mlflow_search(client, experiment_id, param_terms(64))
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


async def test_the_largest_allowed_filter_and_sort_run_on_both_stores(
    client: httpx.AsyncClient, experiment_id: int
) -> None:
    order_by = [f"params.q{i}" for i in range(MAX_ORDER_TERMS)]
    text = param_terms(MAX_FILTER_COMPARISONS)
    for search in (v1_search, mlflow_search):
        response = await search(client, experiment_id, text, order_by)
        assert response.status_code == 200, response.text
        runs = response.json()["runs"]
        assert [run.get("name") or run["info"]["run_name"] for run in runs] == ["all-a"]


async def test_more_sort_terms_than_the_maximum_are_a_400_on_mlflow_runs_search(
    client: httpx.AsyncClient, experiment_id: int
) -> None:
    order_by = [f"params.q{i}" for i in range(MAX_ORDER_TERMS + 1)]
    response = await mlflow_search(client, experiment_id, "", order_by)
    assert response.status_code == 400, response.text
    assert "order_by" in response.json()["message"]
