"""`POST /api/v1/experiments/{id}/runs:batch`: many runs in one transaction, each as the
single-run route creates it."""

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.factories import make_experiment, make_run
from trackboard.server.events import Event
from trackboard.server.runs.schemas import MAX_RUNS_PER_BATCH


async def post_batch(
    client: httpx.AsyncClient, experiment_id: int, runs: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(f"/api/v1/experiments/{experiment_id}/runs:batch", json={"runs": runs})


async def run_count(client: httpx.AsyncClient, experiment_id: int) -> tuple[int, int]:
    listed = (await client.get("/api/v1/experiments")).json()["experiments"]
    item = next(e for e in listed if e["id"] == experiment_id)
    return item["run_count"], item["active_run_count"]


async def test_a_batch_creates_each_run_as_the_single_route_does(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    heard: list[Event] = []

    async def note(events: Sequence[Event]) -> None:
        heard.extend(events)

    app.state.database.events.subscribe("test", note)
    exp = await make_experiment(client)
    chosen = uuid.uuid4().hex
    bodies: list[dict[str, Any]] = [
        {"id": chosen, "name": "a", "params": {"lr": "0.1", "layers": "3"}, "tags": {"t": "x"}},
        {"status": "FINISHED", "user": "bob", "start_time": 1234},
        {"tags": {"mlflow.runName": "named-by-tag"}},
    ]
    response = await post_batch(client, exp["id"], bodies)
    assert response.status_code == 200, response.text
    items = response.json()["runs"]
    assert [item["created"] for item in items] == [True, True, True]
    assert items[0]["id"] == chosen
    runs = [(await client.get(f"/api/v1/runs/{item['id']}")).json() for item in items]
    assert runs[0]["params"] == {"lr": "0.1", "layers": "3"}
    assert runs[0]["tags"] == {"t": "x", "mlflow.runName": "a"}
    assert (runs[1]["status"], runs[1]["user"], runs[1]["start_time"]) == ("FINISHED", "bob", 1234)
    assert runs[1]["name"]
    assert runs[1]["tags"] == {"mlflow.runName": runs[1]["name"]}
    assert runs[2]["name"] == "named-by-tag"
    # One run.created event each, carrying the run's document as a read of it shows.
    created = {e.run_id: e.data["run"] for e in heard if e.type == "run.created"}
    assert created == {run["id"]: run for run in runs}
    assert await run_count(client, exp["id"]) == (3, 2)


async def test_ids_that_exist_are_answered_not_created_again(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client)
    old = await make_run(client, exp["id"], id=uuid.uuid4().hex, params={"p": "1"})
    fresh = uuid.uuid4().hex
    response = await post_batch(
        client, exp["id"], [{"id": fresh}, {"id": old["id"], "params": {"p": "2"}}, {}]
    )
    assert response.status_code == 200, response.text
    items = response.json()["runs"]
    assert [(i["id"], i["created"]) for i in items[:2]] == [(fresh, True), (old["id"], False)]
    assert items[2]["created"]
    assert items[2]["id"] not in (fresh, old["id"])
    assert (await client.get(f"/api/v1/runs/{old['id']}")).json() == old
    # Sent again whole (a retry after a lost answer): nothing new.
    again = await post_batch(client, exp["id"], [{"id": fresh}, {"id": old["id"]}])
    assert [i["created"] for i in again.json()["runs"]] == [False, False]
    assert await run_count(client, exp["id"]) == (3, 3)


async def test_a_batch_with_one_bad_run_creates_none(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client)
    other = await make_run(client, id=uuid.uuid4().hex)
    twice = uuid.uuid4().hex
    bad_batches = [
        [{}, {"params": {"": "empty key"}}],
        [{"id": twice}, {"id": twice}],
        [{}, {"id": other["id"]}],  # a run of another experiment
    ]
    for runs in bad_batches:
        response = await post_batch(client, exp["id"], runs)
        assert response.status_code == 400, response.text
    assert await run_count(client, exp["id"]) == (0, 0)


async def test_a_batch_has_at_least_one_and_at_most_the_limit_of_runs(
    client: httpx.AsyncClient,
) -> None:
    exp = await make_experiment(client)
    assert (await post_batch(client, exp["id"], [])).status_code == 400
    too_many = await post_batch(client, exp["id"], [{}] * (MAX_RUNS_PER_BATCH + 1))
    assert too_many.status_code == 400
    deleted = await make_experiment(client)
    assert (await client.delete(f"/api/v1/experiments/{deleted['id']}")).status_code == 200
    assert (await post_batch(client, deleted["id"], [{}])).status_code == 400
    assert (await post_batch(client, 987654, [{}])).status_code == 404
