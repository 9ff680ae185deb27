"""GET /api/v1/experiments/{id}/runs/groups on SQLite and PostgreSQL: counts per value of a
param, tag or attribute agree with a filtered search; bad keys are refused; the project
roles apply (auth on)."""

from collections import Counter
from typing import Any

import httpx

from tests.api.factories import make_experiment, make_run
from tests.gateway.harness import auth_settings, bearer, running_app, seed_world
from trackboard.server.config import Settings

OPTIMIZERS = ["adam"] * 5 + ["sgd"] * 3 + ["rmsprop"] * 2


async def seed(client: httpx.AsyncClient) -> int:
    experiment: int = (await make_experiment(client))["id"]
    for i, optimizer in enumerate(OPTIMIZERS):
        await make_run(
            client,
            experiment,
            params={"optimizer": optimizer, "lr": str(i % 2)},
            tags={"team": "a" if i < 4 else "b"},
            status="FINISHED" if i % 3 else "FAILED",
        )
    # Runs without the param: the null group.
    for _ in range(2):
        await make_run(client, experiment, params={"lr": "1"})
    return experiment


async def groups(client: httpx.AsyncClient, experiment: int, **query: str) -> Any:
    response = await client.get(f"/api/v1/experiments/{experiment}/runs/groups", params=query)
    assert response.status_code == 200, response.text
    return response.json()


async def searched(client: httpx.AsyncClient, experiment: int, filter_text: str) -> list[Any]:
    response = await client.post(
        "/api/v1/runs/search",
        json={"experiment_ids": [experiment], "filter": filter_text, "limit": 1000},
    )
    assert response.status_code == 200, response.text
    runs: list[Any] = response.json()["runs"]
    return runs


async def test_groups_count_the_runs_of_each_value(client: httpx.AsyncClient) -> None:
    experiment = await seed(client)
    answer = await groups(client, experiment, by="params.optimizer")
    assert answer["by"] == "params.optimizer"
    assert answer["truncated"] is False
    # Largest first; the runs without the param last among equals (null sorts last).
    assert answer["groups"] == [
        {"value": "adam", "count": 5},
        {"value": "sgd", "count": 3},
        {"value": "rmsprop", "count": 2},
        {"value": None, "count": 2},
    ]


async def test_filtered_groups_match_a_filtered_search(client: httpx.AsyncClient) -> None:
    experiment = await seed(client)
    for by, filter_text in (
        ("params.optimizer", "params.lr = '1'"),
        ("tags.team", "attributes.status = 'FINISHED'"),
        ("attributes.status", "params.optimizer != 'sgd'"),
    ):
        answer = await groups(client, experiment, by=by, filter=filter_text)
        runs = await searched(client, experiment, filter_text)
        kind, key = by.split(".", 1)
        if kind == "attributes":
            expected = Counter(run[key] for run in runs)
        else:
            expected = Counter(run[kind].get(key) for run in runs)
        assert {g["value"]: g["count"] for g in answer["groups"]} == expected, by
        assert sum(g["count"] for g in answer["groups"]) == len(runs)


async def test_groups_follow_the_lifecycle(client: httpx.AsyncClient) -> None:
    experiment = await seed(client)
    run = (await searched(client, experiment, "params.optimizer = 'sgd'"))[0]
    assert (await client.delete(f"/api/v1/runs/{run['id']}")).is_success
    active = await groups(client, experiment, by="params.optimizer")
    assert {"value": "sgd", "count": 2} in active["groups"]
    deleted = await groups(client, experiment, by="params.optimizer", lifecycle="deleted")
    assert deleted["groups"] == [{"value": "sgd", "count": 1}]


async def test_bad_group_keys_and_filters_are_refused(client: httpx.AsyncClient) -> None:
    experiment = await seed(client)
    path = f"/api/v1/experiments/{experiment}/runs/groups"
    for query in (
        {"by": "metrics.loss"},
        {"by": "datasets.name"},
        {"by": "attributes.colour"},
        {"by": "optimizer"},
        {"by": "params.optimizer DESC"},
        {"by": "params.optimizer ASC"},
        {"by": "params.optimizer", "filter": "params.lr >"},
    ):
        response = await client.get(path, params=query)
        assert response.status_code == 400, (query, response.text)
    missing = await client.get(
        "/api/v1/experiments/987654/runs/groups", params={"by": "params.optimizer"}
    )
    assert missing.status_code == 404, missing.text


async def test_groups_follow_the_project_roles(settings: Settings) -> None:
    async with running_app(auth_settings(settings, rate_limit=False)) as (app, client):
        world = await seed_world(app, client)
        mine, theirs = world.experiments["a"], world.experiments["b"]
        query = {"by": "attributes.status"}
        viewer = bearer(world.keys["a_viewer"])
        allowed = await client.get(
            f"/api/v1/experiments/{mine}/runs/groups", params=query, headers=viewer
        )
        assert allowed.status_code == 200, allowed.text
        assert sum(g["count"] for g in allowed.json()["groups"]) == 1
        editor = bearer(world.keys["a_editor"])
        refused = await client.get(
            f"/api/v1/experiments/{theirs}/runs/groups", params=query, headers=editor
        )
        assert refused.status_code in (403, 404), refused.text
        anonymous = await client.get(f"/api/v1/experiments/{mine}/runs/groups", params=query)
        assert anonymous.status_code == 401, anonymous.text
