"""Every door records the same events for the same change: v1 and MLflow, route by route."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from trackboard.server.events import Event

MLFLOW = "/api/2.0/mlflow"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def take(self) -> list[Event]:
        taken, self.events = self.events, []
        return taken


@pytest.fixture
def recorder(app: FastAPI) -> Recorder:
    heard = Recorder()
    app.state.database.events.subscribe("test", heard)
    return heard


async def call(client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def mlflow(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    return await call(client, "POST", MLFLOW + path, body)


def summary(events: Sequence[Event]) -> list[tuple[str, dict[str, Any]]]:
    """What must agree between doors: types and what changed (not ids or times)."""
    return [
        (event.type, {k: v for k, v in event.data.items() if k not in ("run", "experiment")})
        for event in events
    ]


Change = Callable[[httpx.AsyncClient, str], Awaitable[object]]


async def v1_status(client: httpx.AsyncClient, run_id: str, status: str) -> None:
    await call(client, "PATCH", f"/api/v1/runs/{run_id}", {"status": status})


async def mlflow_status(client: httpx.AsyncClient, run_id: str, status: str) -> None:
    await mlflow(client, "/runs/update", {"run_id": run_id, "status": status})


RUN_CHANGES: dict[str, tuple[Change, Change]] = {
    "rename": (
        lambda c, r: call(c, "PATCH", f"/api/v1/runs/{r}", {"name": "renamed"}),
        lambda c, r: mlflow(c, "/runs/update", {"run_id": r, "run_name": "renamed"}),
    ),
    "finish": (
        lambda c, r: v1_status(c, r, "FINISHED"),
        lambda c, r: mlflow_status(c, r, "FINISHED"),
    ),
    "fail": (lambda c, r: v1_status(c, r, "FAILED"), lambda c, r: mlflow_status(c, r, "FAILED")),
    "kill": (lambda c, r: v1_status(c, r, "KILLED"), lambda c, r: mlflow_status(c, r, "KILLED")),
    "set-terminated": (
        lambda c, r: v1_status(c, r, "FINISHED"),
        lambda c, r: mlflow(c, "/runs/update", {"run_id": r, "status": "FINISHED", "end_time": 9}),
    ),
    "set-tag": (
        lambda c, r: call(c, "POST", f"/api/v1/runs/{r}/tags", {"tags": {"team": "a"}}),
        lambda c, r: mlflow(c, "/runs/set-tag", {"run_id": r, "key": "team", "value": "a"}),
    ),
    "log-parameter": (
        lambda c, r: call(c, "POST", f"/api/v1/runs/{r}/params", {"params": {"lr": "0.1"}}),
        lambda c, r: mlflow(c, "/runs/log-parameter", {"run_id": r, "key": "lr", "value": "0.1"}),
    ),
    "log-batch params": (
        lambda c, r: call(c, "POST", f"/api/v1/runs/{r}/params", {"params": {"lr": "0.1"}}),
        lambda c, r: mlflow(
            c, "/runs/log-batch", {"run_id": r, "params": [{"key": "lr", "value": "0.1"}]}
        ),
    ),
    "delete": (
        lambda c, r: call(c, "DELETE", f"/api/v1/runs/{r}"),
        lambda c, r: mlflow(c, "/runs/delete", {"run_id": r}),
    ),
}


async def create_run(client: httpx.AsyncClient, door: str) -> str:
    if door == "v1":
        created = await call(client, "POST", "/api/v1/experiments/0/runs", {"name": "r"})
        return str(created["id"])
    created = await mlflow(client, "/runs/create", {"experiment_id": "0", "run_name": "r"})
    return str(created["run"]["info"]["run_id"])


@pytest.mark.parametrize("change", sorted(RUN_CHANGES))
async def test_run_changes_record_the_same_events_through_v1_and_mlflow(
    client: httpx.AsyncClient, recorder: Recorder, change: str
) -> None:
    heard: dict[str, list[Event]] = {}
    created: dict[str, list[Event]] = {}
    for door, apply in zip(("v1", "mlflow"), RUN_CHANGES[change], strict=True):
        run_id = await create_run(client, door)
        created[door] = recorder.take()
        await apply(client, run_id)
        heard[door] = recorder.take()
        assert heard[door], f"{door} recorded no event for {change}"
        assert {e.run_id for e in heard[door]} == {run_id}
        assert all(e.experiment_id == 0 for e in heard[door])
        # The document is the run as the API returns it after the change.
        document = await call(client, "GET", f"/api/v1/runs/{run_id}")
        assert heard[door][-1].data["run"] == document
    assert summary(created["v1"]) == summary(created["mlflow"]) == [("run.created", {})]
    assert summary(heard["v1"]) == summary(heard["mlflow"])


async def test_status_moves_say_old_and_new_status(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    run_id = await create_run(client, "v1")
    recorder.take()
    await v1_status(client, run_id, "FINISHED")
    assert summary(recorder.take()) == [
        ("run.status_changed", {"old_status": "RUNNING", "new_status": "FINISHED"}),
        ("run.finished", {"old_status": "RUNNING", "new_status": "FINISHED"}),
    ]
    await v1_status(client, run_id, "FINISHED")
    assert recorder.take() == []  # nothing changed, nothing recorded


async def test_deleting_a_tag_records_the_same_event_through_v1_and_mlflow(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    heard = {}
    for door in ("v1", "mlflow"):
        run_id = await create_run(client, door)
        await call(client, "POST", f"/api/v1/runs/{run_id}/tags", {"tags": {"team": "a"}})
        recorder.take()
        if door == "v1":
            await call(client, "DELETE", f"/api/v1/runs/{run_id}/tags/team")
        else:
            await mlflow(client, "/runs/delete-tag", {"run_id": run_id, "key": "team"})
        heard[door] = summary(recorder.take())
    assert heard["v1"] == heard["mlflow"] == [("run.updated", {"changes": ["tags"]})]


async def test_restoring_a_run_records_the_same_event_through_v1_and_mlflow(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    heard = {}
    for door in ("v1", "mlflow"):
        run_id = await create_run(client, door)
        await call(client, "DELETE", f"/api/v1/runs/{run_id}")
        recorder.take()
        if door == "v1":
            await call(client, "POST", f"/api/v1/runs/{run_id}/restore")
        else:
            await mlflow(client, "/runs/restore", {"run_id": run_id})
        heard[door] = summary(recorder.take())
    assert heard["v1"] == heard["mlflow"] == [("run.restored", {})]


async def experiment_events_v1(client: httpx.AsyncClient, recorder: Recorder) -> list[Event]:
    created = await call(client, "POST", "/api/v1/experiments", {"name": "e-v1"})
    path = f"/api/v1/experiments/{created['id']}"
    await call(client, "PATCH", path, {"name": "e-v1-renamed"})
    await call(client, "PATCH", path, {"tags": {"team": "a"}})
    await call(client, "DELETE", path)
    await call(client, "POST", path + "/restore")
    return recorder.take()


async def experiment_events_mlflow(client: httpx.AsyncClient, recorder: Recorder) -> list[Event]:
    created = await mlflow(client, "/experiments/create", {"name": "e-ml"})
    ident = {"experiment_id": created["experiment_id"]}
    await mlflow(client, "/experiments/update", {**ident, "new_name": "e-ml-renamed"})
    await mlflow(client, "/experiments/set-experiment-tag", {**ident, "key": "team", "value": "a"})
    await mlflow(client, "/experiments/delete", ident)
    await mlflow(client, "/experiments/restore", ident)
    return recorder.take()


async def test_experiment_changes_record_the_same_events_through_v1_and_mlflow(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    through_v1 = await experiment_events_v1(client, recorder)
    through_mlflow = await experiment_events_mlflow(client, recorder)
    expected = [
        "experiment.created",
        "experiment.updated",
        "experiment.updated",
        "experiment.deleted",
        "experiment.restored",
    ]
    assert [e.type for e in through_v1] == [e.type for e in through_mlflow] == expected
    assert through_v1[1].data["experiment"]["name"] == "e-v1-renamed"
    assert through_mlflow[2].data["experiment"]["tags"] == {"team": "a"}
    assert len({e.id for e in [*through_v1, *through_mlflow]}) == 10


async def test_repeating_a_change_records_nothing_the_second_time(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    run_id = await create_run(client, "v1")
    experiment = await call(client, "POST", "/api/v1/experiments", {"name": "again"})
    for _ in range(2):
        await mlflow(client, "/runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"})
        await call(client, "POST", f"/api/v1/runs/{run_id}/params", {"params": {"lr": "1"}})
        await call(client, "PATCH", f"/api/v1/experiments/{experiment['id']}", {"tags": {"t": "1"}})
    assert [e.type for e in recorder.take()] == [
        "run.created",
        "experiment.created",
        "run.updated",
        "run.updated",
        "experiment.updated",
    ]
