"""Live updates and read-cache invalidation are event subscribers: every door triggers them."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import orjson
from fastapi import FastAPI

from trackboard.server.live.service import LiveService

MLFLOW = "/api/2.0/mlflow"


async def next_message(subscription: AsyncIterator[bytes]) -> dict[str, object]:
    message: dict[str, object] = orjson.loads(
        await asyncio.wait_for(anext(subscription), timeout=5)
    )
    return message


async def test_mlflow_run_changes_reach_live_views(app: FastAPI, client: httpx.AsyncClient) -> None:
    live: LiveService = app.state.live
    async with live.subscribe("experiment.0") as experiment_view:
        response = await client.post(
            MLFLOW + "/runs/create", json={"experiment_id": "0", "run_name": "seen"}
        )
        run_id = response.json()["run"]["info"]["run_id"]
        created = await next_message(experiment_view)
        assert created["event"] == "run_created"
        assert created["run"] == (await client.get(f"/api/v1/runs/{run_id}")).json()

        async with live.subscribe(f"run.{run_id}") as run_view:
            await client.post(
                MLFLOW + "/runs/set-tag", json={"run_id": run_id, "key": "k", "value": "v"}
            )
            tagged = await next_message(run_view)
            assert tagged["event"] == "run_updated"
            assert tagged["run"]["tags"]["k"] == "v"  # type: ignore[index]

            # A status move records two events; live views get one message.
            await client.post(MLFLOW + "/runs/update", json={"run_id": run_id, "status": "KILLED"})
            killed = await next_message(run_view)
            assert killed["run"]["status"] == "KILLED"  # type: ignore[index]
            await client.post(MLFLOW + "/runs/delete", json={"run_id": run_id})
            deleted = await next_message(run_view)
            assert deleted["run"]["lifecycle_stage"] == "deleted"  # type: ignore[index]


async def test_a_rejected_change_reaches_no_live_view(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    live: LiveService = app.state.live
    run = (await client.post("/api/v1/experiments/0/runs", json={"params": {"lr": "1"}})).json()
    async with live.subscribe(f"run.{run['id']}") as run_view:
        refused = await client.post(
            f"/api/v1/runs/{run['id']}/params", json={"params": {"lr": "2"}}
        )
        assert refused.status_code == 400
        await client.patch(f"/api/v1/runs/{run['id']}", json={"name": "after"})
        # The first message is the rename: the refused param change sent nothing.
        assert (await next_message(run_view))["run"]["name"] == "after"  # type: ignore[index]


async def test_mlflow_experiment_changes_refresh_cached_v1_reads(client: httpx.AsyncClient) -> None:
    created = await client.post(MLFLOW + "/experiments/create", json={"name": "before"})
    experiment_id = created.json()["experiment_id"]
    detail = f"/api/v1/experiments/{experiment_id}"
    assert (await client.get(detail)).json()["name"] == "before"  # now cached
    listed = (await client.get("/api/v1/experiments")).json()["experiments"]
    assert "before" in [e["name"] for e in listed]
    await client.post(
        MLFLOW + "/experiments/update",
        json={"experiment_id": experiment_id, "new_name": "after"},
    )
    assert (await client.get(detail)).json()["name"] == "after"
    listed = (await client.get("/api/v1/experiments")).json()["experiments"]
    assert [e["name"] for e in listed if e["id"] == int(experiment_id)] == ["after"]
