"""Thinning old series on both stores: a finished run's old series keeps its extremes and
reads back through the history API; running runs and recent series stay whole; a second
pass changes nothing."""

import math
from collections.abc import Sequence

import httpx
from fastapi import FastAPI

from tests.retention.builders import DAY_MS, database, full_run, new_experiment, now_ms
from trackboard.server.metrics import service as metrics
from trackboard.server.retention.repository import Scope
from trackboard.server.retention.service import Pass, plan
from trackboard.server.retention.thinning import downsample_old_series

POINTS = 10_000
MAX_POINTS = 500


async def series(client: httpx.AsyncClient, run_id: str) -> list[dict[str, float]]:
    response = await client.get(f"/api/v1/runs/{run_id}/metrics/loss")
    assert response.status_code == 200, response.text
    points: list[dict[str, float]] = response.json()["points"]
    return points


async def log_loss(
    client: httpx.AsyncClient,
    run_id: str,
    first_step: int,
    values: Sequence[float | str],
    start: int,
) -> None:
    """`values` as `loss` from `first_step` on, a millisecond apart from `start`."""
    columns = {
        "key": "loss",
        "steps": list(range(first_step, first_step + len(values))),
        "values": values,
        "timestamps": [start + i for i in range(len(values))],
    }
    stored = await client.post(f"/api/v1/runs/{run_id}/metrics", json={"columns": [columns]})
    assert stored.status_code == 200, stored.text


async def summary(client: httpx.AsyncClient, run_id: str) -> object:
    response = await client.get(f"/api/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()["metrics"]["loss"]


async def test_old_series_of_finished_runs_are_thinned_keeping_extremes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    experiment = await new_experiment(client)
    long_ago = now_ms() - 60 * DAY_MS
    old = await full_run(client, experiment, points=POINTS, timestamp=long_ago)
    running = await full_run(
        client, experiment, points=POINTS, timestamp=long_ago, status="RUNNING"
    )
    recent = await full_run(client, experiment, points=POINTS)
    before = await series(client, old)
    old_summary = await summary(client, old)
    work = Pass(Scope(), thin_before_ms=now_ms() - 30 * DAY_MS, max_points=MAX_POINTS)
    planned = await plan(database(app), work)
    assert (planned.series, planned.series_points) == (1, POINTS)

    report = await downsample_old_series(database(app), work.thin_before_ms or 0, MAX_POINTS)

    assert (report.series, report.points_before) == (1, POINTS)
    after = await series(client, old)
    assert len(after) == report.points_after <= MAX_POINTS
    values = [p["value"] for p in after]
    assert min(values) == min(p["value"] for p in before)
    assert max(values) == max(p["value"] for p in before)
    assert after[0] == before[0]
    assert after[-1] == before[-1]
    assert all(point in before for point in after)
    assert [p["step"] for p in after] == sorted(p["step"] for p in after)
    assert await summary(client, old) == old_summary
    downsampled = await client.get(f"/api/v1/runs/{old}/metrics/loss?max_points=50")
    assert len(downsampled.json()["points"]) <= 50
    for untouched in (running, recent):
        assert len(await series(client, untouched)) == POINTS

    again = await downsample_old_series(database(app), work.thin_before_ms or 0, MAX_POINTS)
    assert again.series == 0
    assert await series(client, old) == after


async def test_a_nan_in_an_old_series_survives_thinning(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    experiment = await new_experiment(client)
    run = (
        await client.post(f"/api/v1/experiments/{experiment}/runs", json={"status": "FINISHED"})
    ).json()["id"]
    long_ago = now_ms() - 60 * DAY_MS
    values: list[float | str] = [float(i % 7) for i in range(5_000)]
    values[1234] = "NaN"
    await log_loss(client, run, 0, values, long_ago)
    report = await downsample_old_series(database(app), now_ms() - DAY_MS, 100)
    assert report.series == 1
    kept = await series(client, run)
    assert len(kept) <= 100
    assert any(isinstance(p["value"], str) and math.isnan(float(p["value"])) for p in kept)


async def test_a_series_thinned_window_by_window_keeps_its_extremes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    experiment = await new_experiment(client)
    long_ago = now_ms() - 60 * DAY_MS
    run_id = await full_run(client, experiment, points=POINTS, timestamp=long_ago)
    for start in range(POINTS, 4 * POINTS, POINTS):
        values = [float((i * 53) % 997) - start for i in range(POINTS)]
        await log_loss(client, run_id, start, values, long_ago + start)
    before = await series(client, run_id)
    assert len(before) == 4 * POINTS

    async with database(app).transaction() as session:
        counts = await metrics.downsample_stored_series(
            session, run_id, "loss", MAX_POINTS, window_points=9_000
        )

    after = await series(client, run_id)
    assert counts == (4 * POINTS, len(after))
    assert len(after) <= MAX_POINTS
    values = [p["value"] for p in after]
    assert min(values) == min(p["value"] for p in before)
    assert max(values) == max(p["value"] for p in before)
    assert after[0] == before[0]
    assert after[-1] == before[-1]
    again = await downsample_old_series(database(app), now_ms() - DAY_MS, MAX_POINTS)
    assert again.series == 0
