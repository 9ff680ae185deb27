"""POST /api/v1/runs/export: every matching run, streamed as CSV or JSON lines."""

import csv
import io
import math
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import FastAPI

from tests.api.factories import log_points, make_experiment, make_run
from tests.gateway.harness import bearer, running_app, seed_world
from trackboard.server.config import Settings
from trackboard.server.runs import service as runs
from trackboard.server.search import export


async def export_rows(client: httpx.AsyncClient, **body: object) -> list[dict[str, str]]:
    response = await client.post("/api/v1/runs/export", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def search_all(client: httpx.AsyncClient, **body: object) -> list[dict]:  # type: ignore[type-arg]
    found: list[dict] = []  # type: ignore[type-arg]
    token = None
    while True:
        page = await client.post("/api/v1/runs/search", json={**body, "page_token": token})
        assert page.status_code == 200, page.text
        found += page.json()["runs"]
        token = page.json()["next_page_token"]
        if token is None:
            return found


@pytest.fixture
async def sweep(app: FastAPI, client: httpx.AsyncClient) -> int:
    """130 runs (more than a search page of 100): lr by index, even ones tagged, a few
    with a `loss`. Created in one transaction: 130 requests would cost seconds."""
    experiment = int((await make_experiment(client, "sweep"))["id"])
    with_loss = []
    async with app.state.database.transaction() as session:
        for i in range(130):
            change, _ = await runs.create_run(
                session,
                experiment,
                name=f"run-{i:03}",
                start_time=1000 + i,
                params={"lr": str(i / 1000)},
                tags={"parity": "even"} if i % 2 == 0 else {},
            )
            if i % 40 == 0:
                with_loss.append((change.run.id, 1 / (i + 1)))
    for run_id, loss in with_loss:
        await log_points(client, run_id, [{"key": "loss", "value": loss}])
    return experiment


async def test_csv_export_holds_every_matching_run_with_a_header_of_all_keys(
    client: httpx.AsyncClient, sweep: int
) -> None:
    rows = await export_rows(client, experiment_ids=[sweep], order_by=["params.lr DESC"])
    api = await search_all(client, experiment_ids=[sweep], order_by=["params.lr DESC"])
    assert len(rows) == 130
    assert [row["id"] for row in rows] == [run["id"] for run in api]
    keys = ["params.lr", "tags.mlflow.runName", "tags.parity", "metrics.loss"]
    assert list(rows[0]) == [*export.ATTRIBUTES, *keys]
    by_id = {run["id"]: run for run in api}
    for row in rows:
        run = by_id[row["id"]]
        assert row["name"] == run["name"]
        assert row["params.lr"] == run["params"]["lr"]
        assert row["tags.parity"] == run["tags"].get("parity", "")
        loss = run["metrics"].get("loss")
        assert row["metrics.loss"] == ("" if loss is None else repr(loss["value"]))
        assert int(row["start_time"]) == run["start_time"]


async def test_export_keeps_the_filter_and_only_the_requested_columns(
    client: httpx.AsyncClient, sweep: int
) -> None:
    rows = await export_rows(
        client,
        experiment_ids=[sweep],
        filter="tags.parity = 'even' AND attributes.run_name LIKE 'run-0%'",
        order_by=["attributes.run_name ASC"],
        columns=["name", "params.lr"],
    )
    expected = [f"run-{i:03}" for i in range(0, 100, 2)]
    assert [row["name"] for row in rows] == expected
    assert list(rows[0]) == ["name", "params.lr"]


async def test_jsonl_export_is_one_flat_object_per_run(
    client: httpx.AsyncClient, sweep: int
) -> None:
    response = await client.post(
        "/api/v1/runs/export",
        json={"experiment_ids": [sweep], "format": "jsonl", "filter": "metrics.loss >= 0"},
    )
    assert response.status_code == 200, response.text
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert sorted(line["name"] for line in lines) == ["run-000", "run-040", "run-080", "run-120"]
    first = next(line for line in lines if line["name"] == "run-000")
    assert first["metrics.loss"] == 1.0
    assert first["tags.parity"] == "even"


async def test_export_reads_in_chunks_smaller_than_the_result(
    app: FastAPI, client: httpx.AsyncClient, sweep: int
) -> None:
    """The service pages through the search: 130 runs in chunks of 7 come out whole."""
    query = export.ExportQuery([sweep], None, ["params.lr ASC"])
    async with app.state.database.transaction(write=False) as session:
        columns = await export.matching_columns(session, query, chunk=7)
        parts = [part async for part in export.export_csv(session, query, columns, chunk=7)]
    assert len(parts) == 1 + math.ceil(130 / 7)
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert [row["name"] for row in rows] == [f"run-{i:03}" for i in range(130)]


async def test_non_finite_metrics_are_read_back_as_floats(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    await log_points(
        client, run["id"], [{"key": "a", "value": "NaN"}, {"key": "b", "value": "Infinity"}]
    )
    rows = await export_rows(client, experiment_ids=[run["experiment_id"]])
    assert math.isnan(float(rows[0]["metrics.a"]))
    assert float(rows[0]["metrics.b"]) == math.inf


@pytest.mark.parametrize(
    "body",
    [
        {"filter": "params.lr >>> 1"},
        {"order_by": ["nonsense.key"]},
        {"columns": ["password"]},
        {"columns": ["params."]},
        {"columns": ["name", "name"]},
        {"format": "xlsx"},
    ],
)
async def test_a_bad_request_is_refused_before_streaming(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    experiment = (await make_experiment(client))["id"]
    response = await client.post(
        "/api/v1/runs/export", json={"experiment_ids": [experiment], **body}
    )
    assert response.status_code in (400, 422), response.text


@pytest.fixture
async def auth_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_app(settings.model_copy(update={"auth": True, "rate_limit": False})) as pair:
        yield pair


async def test_export_of_another_projects_experiment_is_refused(
    auth_app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = auth_app
    world = await seed_world(app, client)
    viewer = bearer(world.keys["a_viewer"])
    for named in ([world.experiments["b"]], [world.experiments["a"], world.experiments["b"]]):
        response = await client.post(
            "/api/v1/runs/export", json={"experiment_ids": named}, headers=viewer
        )
        assert response.status_code == 404, response.text
        assert world.runs["b"] not in response.text
    own = await client.post(
        "/api/v1/runs/export", json={"experiment_ids": [world.experiments["a"]]}, headers=viewer
    )
    assert own.status_code == 200
    assert [row["id"] for row in csv.DictReader(io.StringIO(own.text))] == [world.runs["a"]]
