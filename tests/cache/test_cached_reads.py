"""The API's cached reads: experiment list and detail, the dashboard aggregation."""

import time

import httpx

from tests.api.factories import log_points, make_experiment, make_run


def counter(exposition: str, name: str, cache: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(f'{name}_total{{cache="{cache}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_experiment_reads_are_cached_and_writes_invalidate_them(
    client: httpx.AsyncClient,
) -> None:
    created = await make_experiment(client, "cached")
    path = f"/api/v1/experiments/{created['id']}"
    assert (await client.get(path)).json()["name"] == "cached"
    assert (await client.get(path)).json()["name"] == "cached"
    renamed = await client.patch(path, json={"name": "renamed"})
    assert renamed.status_code == 200
    assert (await client.get(path)).json()["name"] == "renamed"
    names = [e["name"] for e in (await client.get("/api/v1/experiments")).json()["experiments"]]
    assert "renamed" in names
    await client.delete(path)
    names = [e["name"] for e in (await client.get("/api/v1/experiments")).json()["experiments"]]
    assert "renamed" not in names
    metrics = (await client.get("/metrics")).text
    assert counter(metrics, "trackboard_cache_hits", "experiment") >= 1
    assert counter(metrics, "trackboard_cache_misses", "experiment") >= 2
    assert counter(metrics, "trackboard_cache_misses", "experiment_list") >= 2


async def test_the_cached_experiment_list_shows_run_counts_after_each_change(
    client: httpx.AsyncClient,
) -> None:
    experiment = await make_experiment(client, "counted")

    async def counts() -> tuple[int, int]:
        listed = (await client.get("/api/v1/experiments")).json()["experiments"]
        found = next(e for e in listed if e["id"] == experiment["id"])
        return found["run_count"], found["active_run_count"]

    assert await counts() == (0, 0)
    run = await make_run(client, experiment["id"])
    assert await counts() == (1, 1)
    finished = await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
    assert finished.status_code == 200, finished.text
    assert await counts() == (1, 0)
    assert (await client.delete(f"/api/v1/runs/{run['id']}")).status_code in (200, 204)
    assert await counts() == (0, 0)


async def test_dashboard_aggregates_runs_by_status_best_run_and_days(
    client: httpx.AsyncClient,
) -> None:
    experiment = await make_experiment(client)
    now = int(time.time() * 1000)
    runs = []
    for i, status in enumerate(["FINISHED", "FINISHED", "FAILED", "RUNNING"]):
        run = await make_run(
            client, experiment["id"], status=status, start_time=now - i * 86_400_000
        )
        await log_points(client, run["id"], [{"key": "acc", "value": 0.5 + i / 10, "step": 1}])
        runs.append(run)
    nan_run = await make_run(client, experiment["id"], start_time=now)
    await log_points(client, nan_run["id"], [{"key": "acc", "value": "NaN", "step": 1}])
    response = await client.get(
        f"/api/v1/experiments/{experiment['id']}/dashboard",
        params={"metric": "acc", "goal": "max", "days": 7},
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["runs_by_status"] == {"FINISHED": 2, "FAILED": 1, "RUNNING": 2}
    assert stats["total_runs"] == 5
    assert stats["best"]["run_id"] == runs[3]["id"]
    assert stats["best"]["value"] == 0.8
    assert len(stats["runs_per_day"]) == 7
    assert [d["runs"] for d in stats["runs_per_day"]][-4:] == [1, 1, 1, 2]
    lowest = await client.get(
        f"/api/v1/experiments/{experiment['id']}/dashboard", params={"metric": "acc", "goal": "min"}
    )
    assert lowest.json()["best"]["run_id"] == runs[0]["id"]


async def test_dashboard_is_invalidated_by_run_writes(client: httpx.AsyncClient) -> None:
    experiment = await make_experiment(client)
    path = f"/api/v1/experiments/{experiment['id']}/dashboard"
    assert (await client.get(path)).json()["total_runs"] == 0
    assert (await client.get(path)).json()["total_runs"] == 0
    run = await make_run(client, experiment["id"])
    assert (await client.get(path)).json()["runs_by_status"] == {"RUNNING": 1}
    await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
    assert (await client.get(path)).json()["runs_by_status"] == {"FINISHED": 1}
    hits = counter((await client.get("/metrics")).text, "trackboard_cache_hits", "dashboard")
    assert hits >= 1


async def test_dashboard_of_a_missing_experiment_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/experiments/424242/dashboard")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RESOURCE_DOES_NOT_EXIST"
