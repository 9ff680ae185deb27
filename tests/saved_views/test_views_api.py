"""Saved views over the v1 API on SQLite and PostgreSQL: CRUD, validation, name conflicts."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from tests.api.factories import make_experiment
from trackboard.server.models import Experiment, SavedView
from trackboard.server.saved_views.schemas import MAX_STATE_BYTES

STATE: dict[str, Any] = {
    "filter": "params.lr > 0.01",
    "sort": {"column": "metrics.val loss", "desc": True},
    "columns": ["params.lr", "metrics.val loss"],
    "hidden": ["duration"],
    "pinned": ["attributes.run_name", "params.lr"],
    "group": "params.optimizer",
    "chart": {"x": "metric:epoch", "smoothing": 0.6, "log": True, "band": "std"},
    # Chart panels: a key of its own, and two keys (one with the URL's separators) together.
    "panels": [["val loss"], ["train/loss", "a,b;c%"]],
}


def views_path(experiment_id: int, view_id: int | str | None = None) -> str:
    path = f"/api/v1/experiments/{experiment_id}/views"
    return path if view_id is None else f"{path}/{view_id}"


async def test_a_view_is_created_listed_read_updated_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    experiment = (await make_experiment(client))["id"]
    created = await client.post(views_path(experiment), json={"name": "best", "state": STATE})
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["name"] == "best"
    assert view["experiment_id"] == experiment
    assert view["state"] == {"version": 1, **STATE}
    assert view["created_by"] == view["updated_by"] == "local"

    listed = await client.get(views_path(experiment))
    assert [v["id"] for v in listed.json()["views"]] == [view["id"]]
    read = await client.get(views_path(experiment, view["id"]))
    assert read.json() == view

    renamed = await client.patch(views_path(experiment, view["id"]), json={"name": "best lr"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "best lr"
    assert renamed.json()["state"] == view["state"]
    replaced = await client.patch(
        views_path(experiment, view["id"]), json={"state": {"filter": "status = 'FINISHED'"}}
    )
    assert replaced.status_code == 200, replaced.text
    state = replaced.json()["state"]
    assert state["filter"] == "status = 'FINISHED'"
    assert (state["columns"], state["sort"], state["group"]) == (None, None, None)
    assert state["panels"] is None
    assert replaced.json()["updated_at"] >= view["updated_at"]

    deleted = await client.delete(views_path(experiment, view["id"]))
    assert deleted.status_code == 204
    assert (await client.get(views_path(experiment, view["id"]))).status_code == 404
    assert (await client.get(views_path(experiment))).json() == {"views": []}


async def test_names_are_unique_per_experiment_only(client: httpx.AsyncClient) -> None:
    first, second = (await make_experiment(client))["id"], (await make_experiment(client))["id"]
    body = {"name": "mine", "state": {}}
    assert (await client.post(views_path(first), json=body)).status_code == 201
    again = await client.post(views_path(first), json=body)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "RESOURCE_ALREADY_EXISTS"
    assert (await client.post(views_path(second), json=body)).status_code == 201

    other = await client.post(views_path(first), json={"name": "other", "state": {}})
    clash = await client.patch(views_path(first, other.json()["id"]), json={"name": "mine"})
    assert clash.status_code == 409, clash.text
    same = await client.patch(views_path(first, other.json()["id"]), json={"name": "other"})
    assert same.status_code == 200, same.text


async def test_a_view_is_found_only_under_its_own_experiment(client: httpx.AsyncClient) -> None:
    first, second = (await make_experiment(client))["id"], (await make_experiment(client))["id"]
    view = (await client.post(views_path(first), json={"name": "v", "state": {}})).json()
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            views_path(second, view["id"]),
            json={"name": "x"} if method == "PATCH" else None,
        )
        assert response.status_code == 404, (method, response.text)
    assert (await client.get(views_path(first, view["id"]))).json()["name"] == "v"


async def test_views_of_a_missing_experiment_are_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get(views_path(999_999))).status_code == 404
    created = await client.post(views_path(999_999), json={"name": "v", "state": {}})
    assert created.status_code == 404


@pytest.mark.parametrize(
    "state",
    [
        {"unknown": 1},
        {"filter": 5},
        {"sort": {"column": "lr"}},
        {"columns": ["nope.lr"]},
        {"columns": ["params.\nlr"]},
        {"hidden": ["attributes.run_name"]},
        {"pinned": ["select"]},
        {"group": "params."},
        {"chart": {"smoothing": 1.5}},
        {"chart": {"x": "epoch"}},
        {"chart": {"band": "iqr"}},
        {"version": 2},
        {"panels": "loss"},
        {"panels": [[]]},
        {"panels": [[""]]},
        {"panels": [["a\nb"]]},
        {"panels": [["k" * 251]]},
        {"panels": [[f"k{i}" for i in range(21)]]},
        {"panels": [["k"]] * 201},
        "params.lr > 1",
    ],
)
async def test_a_state_that_is_not_a_view_is_refused(
    client: httpx.AsyncClient, state: object
) -> None:
    experiment = (await make_experiment(client))["id"]
    response = await client.post(views_path(experiment), json={"name": "v", "state": state})
    assert response.status_code == 400, response.text
    assert (await client.get(views_path(experiment))).json() == {"views": []}


async def test_a_state_over_the_size_bound_is_refused(client: httpx.AsyncClient) -> None:
    experiment = (await make_experiment(client))["id"]
    columns = [f"params.{i:04d}-{'x' * 200}" for i in range(MAX_STATE_BYTES // 200)]
    response = await client.post(
        views_path(experiment), json={"name": "big", "state": {"columns": columns}}
    )
    assert response.status_code == 400, response.text
    assert f"at most {MAX_STATE_BYTES}" in response.text
    fits = await client.post(
        views_path(experiment), json={"name": "fits", "state": {"columns": columns[:100]}}
    )
    assert fits.status_code == 201, fits.text
    # Panels count towards the same bound.
    panels = [[f"{i:03d}-{'k' * 240}"] for i in range(150)]
    too_many = await client.post(
        views_path(experiment), json={"name": "panels", "state": {"panels": panels}}
    )
    assert too_many.status_code == 400, too_many.text
    assert f"at most {MAX_STATE_BYTES}" in too_many.text


@pytest.mark.parametrize("name", ["", "x" * 201])
async def test_a_name_must_be_given_and_short(client: httpx.AsyncClient, name: str) -> None:
    experiment = (await make_experiment(client))["id"]
    response = await client.post(views_path(experiment), json={"name": name, "state": {}})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("spelled", ["+{id}", "%2B{id}", "{id}.0", "0{id}", "{id}e0", "%20{id}"])
async def test_other_spellings_of_a_view_id_are_refused(
    client: httpx.AsyncClient, spelled: str
) -> None:
    experiment = (await make_experiment(client))["id"]
    view = (await client.post(views_path(experiment), json={"name": "v", "state": {}})).json()
    path = views_path(experiment, spelled.format(id=view["id"]))
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, path, json={"name": "x"})
        assert response.status_code == 400, (method, path, response.text)
    assert (await client.get(views_path(experiment, view["id"]))).json()["name"] == "v"


async def test_an_experiments_views_go_when_the_experiment_row_is_purged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """`trackboard gc` deletes experiment rows; their views go with them (FK cascade)."""
    experiment = (await make_experiment(client))["id"]
    kept = (await make_experiment(client))["id"]
    await client.post(views_path(experiment), json={"name": "v", "state": {}})
    await client.post(views_path(kept), json={"name": "v", "state": {}})
    async with app.state.database.transaction() as session:
        await session.execute(delete(Experiment).where(Experiment.id == experiment))
    async with app.state.database.transaction(write=False) as session:
        left = (await session.scalars(select(SavedView.experiment_id))).all()
    assert left == [kept]
