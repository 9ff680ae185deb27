"""POST /api/v1/runs/compare on SQLite and PostgreSQL: per-run lines are
the runs' histories; group means, min-max and ±1 std bands agree with a computation here;
bad bodies are refused; every run id goes through the project roles (auth on)."""

import math
from typing import Any

import httpx
import numpy as np
import pytest

from tests.api.factories import log_points, make_experiment, make_run
from tests.gateway.harness import auth_settings, bearer, running_app, seed_world
from trackboard.server.config import Settings

# Three runs of group "a" logging every step, every other step and from step 4 on; one of
# group "b" with a gap (NaN) at step 5.
SERIES: dict[str, dict[int, float]] = {
    "a1": {s: float(s) for s in range(10)},
    "a2": {s: 2.0 * s + 1 for s in range(0, 10, 2)},
    "a3": {s: 5.0 - s for s in range(4, 10)},
    "b1": {s: (math.nan if s == 5 else 10.0 + s) for s in range(10)},
}


async def seed(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    experiment: int = (await make_experiment(client))["id"]
    ids: dict[str, str] = {}
    for name, points in SERIES.items():
        run = await make_run(client, experiment, name=name, params={"g": name[0]})
        ids[name] = run["id"]
        body = [
            {"key": "loss", "step": s, "value": "NaN" if math.isnan(v) else v, "timestamp": s}
            for s, v in points.items()
        ]
        await log_points(client, run["id"], body)
    return experiment, ids


async def compare(client: httpx.AsyncClient, **body: Any) -> Any:
    response = await client.post("/api/v1/runs/compare", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def expected_at(points: dict[Any, float], x: float) -> float | None:
    """The series at x: linear between its points, None outside them or next to a gap."""
    steps = sorted(points)
    if x < steps[0] or x > steps[-1]:
        return None
    if x in points:
        value = float(points[x])
        return None if math.isnan(value) else value
    right = next(s for s in steps if s > x)
    left = max(s for s in steps if s < x)
    y0, y1 = float(points[left]), float(points[right])
    if math.isnan(y0) or math.isnan(y1):
        return None
    return float(y0 + (y1 - y0) * (x - left) / (right - left))


async def test_ungrouped_chart_has_each_runs_history(client: httpx.AsyncClient) -> None:
    _, ids = await seed(client)
    answer = await compare(client, run_ids=list(ids.values()), key="loss")
    assert answer["groups"] == []
    assert [line["run_id"] for line in answer["lines"]] == list(ids.values())
    for line, (name, points) in zip(answer["lines"], SERIES.items(), strict=True):
        history = await client.get(
            f"/api/v1/runs/{ids[name]}/metrics/loss", params={"format": "columns"}
        )
        assert line["steps"] == history.json()["steps"] == sorted(points)
        assert line["values"] == history.json()["values"]
        assert line["timestamps"] == history.json()["timestamps"]


async def test_group_mean_and_bands_match_a_direct_computation(client: httpx.AsyncClient) -> None:
    _, ids = await seed(client)
    groups = [
        {"name": "a", "run_ids": [ids["a1"], ids["a2"], ids["a3"]]},
        {"name": "b", "run_ids": [ids["b1"]]},
    ]
    answer = await compare(client, run_ids=list(ids.values()), key="loss", groups=groups)
    assert answer["lines"] == []
    by_name = {g["name"]: g for g in answer["groups"]}
    assert by_name["a"]["run_count"] == 3
    for name, members in (("a", ["a1", "a2", "a3"]), ("b", ["b1"])):
        group = by_name[name]
        # Few points: the grid is every x any member has.
        xs = sorted({s for m in members for s in SERIES[m]})
        assert group["x"] == xs
        for i, x in enumerate(xs):
            values = [v for m in members if (v := expected_at(SERIES[m], x)) is not None]
            assert group["count"][i] == len(values), (name, x)
            if not values:
                assert group["mean"][i] is None
                assert group["std"][i] is None
                continue
            assert group["mean"][i] == pytest.approx(float(np.mean(values)))
            assert group["min"][i] == pytest.approx(min(values))
            assert group["max"][i] == pytest.approx(max(values))
            assert group["std"][i] == pytest.approx(float(np.std(values)))
            assert group["steps"][i] == pytest.approx(x)


async def test_long_series_come_on_a_grid_of_max_points(client: httpx.AsyncClient) -> None:
    experiment: int = (await make_experiment(client))["id"]
    rng = np.random.default_rng(16)
    run_ids = []
    for _ in range(3):
        run = await make_run(client, experiment)
        run_ids.append(run["id"])
        values = rng.normal(size=500).tolist()
        body = [{"key": "acc", "step": s, "value": v} for s, v in enumerate(values)]
        await log_points(client, run["id"], body)
    answer = await compare(
        client,
        run_ids=run_ids,
        key="acc",
        groups=[{"name": "all", "run_ids": run_ids}],
        lines=True,
        max_points=10,
    )
    (group,) = answer["groups"]
    # The downsampled runs have more distinct steps than 10: an even grid over them all.
    assert group["x"] == pytest.approx(np.linspace(0, 499, 10).tolist())
    lines = [dict(zip(line["steps"], line["values"], strict=True)) for line in answer["lines"]]
    assert all(len(line) <= 10 for line in lines)
    for i, x in enumerate(group["x"]):
        values = [v for line in lines if (v := expected_at(line, x)) is not None]
        assert group["count"][i] == len(values) == 3
        assert group["mean"][i] == pytest.approx(float(np.mean(values)))
        assert group["std"][i] == pytest.approx(float(np.std(values)))
        assert group["min"][i] == pytest.approx(min(values))


async def test_bands_of_long_series_hold_when_read_from_overviews(
    client: httpx.AsyncClient,
) -> None:
    experiment: int = (await make_experiment(client))["id"]
    run_ids = []
    for offset in (0.0, 1.0):
        run = await make_run(client, experiment)
        run_ids.append(run["id"])
        body = [{"key": "acc", "step": s, "value": offset + s / 100} for s in range(1000)]
        await log_points(client, run["id"], body)
    # 1,000 points for 10 output points: the members come from their chunks' overviews.
    answer = await compare(
        client,
        run_ids=run_ids,
        key="acc",
        groups=[{"name": "g", "run_ids": run_ids}],
        max_points=10,
    )
    (group,) = answer["groups"]
    assert group["x"][0] == 0
    assert group["x"][-1] == 999
    assert len(group["x"]) <= 10
    # Two straight lines one apart: mean halfway and std a half at any x, however thinned.
    for x, mean, std in zip(group["x"], group["mean"], group["std"], strict=True):
        assert mean == pytest.approx(0.5 + x / 100)
        assert std == pytest.approx(0.5)


async def test_relative_time_axis_counts_from_each_runs_start(client: httpx.AsyncClient) -> None:
    experiment: int = (await make_experiment(client))["id"]
    run_ids = []
    for start in (1_000_000, 5_000_000):
        run = await make_run(client, experiment, start_time=start)
        run_ids.append(run["id"])
        body = [
            {"key": "loss", "step": s, "value": float(s), "timestamp": start + 1000 * s}
            for s in range(5)
        ]
        await log_points(client, run["id"], body)
    groups = [{"name": "both", "run_ids": run_ids}]
    answer = await compare(client, run_ids=run_ids, key="loss", x="relative", groups=groups)
    (group,) = answer["groups"]
    assert group["x"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert group["count"] == [2] * 5
    assert group["std"] == [0.0] * 5


async def test_runs_of_several_experiments_compare_together(client: httpx.AsyncClient) -> None:
    _, ids = await seed(client)
    _, more = await seed(client)
    both = [ids["a1"], more["a1"]]
    answer = await compare(
        client, run_ids=both, key="loss", groups=[{"name": "a", "run_ids": both}]
    )
    assert answer["groups"][0]["run_count"] == 2
    assert answer["groups"][0]["std"] == [0.0] * 10


async def test_runs_without_the_key_are_left_out(client: httpx.AsyncClient) -> None:
    experiment, ids = await seed(client)
    silent = (await make_run(client, experiment))["id"]
    answer = await compare(
        client,
        run_ids=[ids["a1"], silent],
        key="loss",
        groups=[{"name": "x", "run_ids": [ids["a1"], silent]}],
    )
    assert answer["groups"][0]["run_count"] == 1


async def test_bad_bodies_are_refused(client: httpx.AsyncClient) -> None:
    _, ids = await seed(client)
    path = "/api/v1/runs/compare"
    a1 = ids["a1"]
    for body in (
        {"run_ids": [], "key": "loss"},
        {"run_ids": [a1] * 501, "key": "loss"},
        {"run_ids": [a1], "key": ""},
        {"run_ids": [a1], "key": "x" * 251},
        {"run_ids": [a1], "key": "bad\x00key"},
        {"run_ids": [a1], "key": "loss", "max_points": 9},
        {"run_ids": [a1], "key": "loss", "max_points": 10_001},
        {"run_ids": [a1], "key": "loss", "max_points": "100"},
        {"run_ids": [a1], "key": "loss", "smoothing": 1.0},
        {"run_ids": [a1], "key": "loss", "x": "metric:epoch"},
        {"run_ids": [a1], "key": "loss", "start_step": 2**63},
        {"run_ids": [a1], "key": "loss", "groups": [{"name": "g", "run_ids": [ids["b1"]]}]},
        {"run_ids": [a1], "key": "loss", "groups": [{"name": "g", "run_ids": [a1]}] * 101},
        {"run_ids": [a1], "key": "loss", "colour": "red"},
        {"run_ids": ["../x"], "key": "loss"},
        {"run_ids": "a1", "key": "loss"},
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 400, (body, response.text)
    missing = await client.post(path, json={"run_ids": ["nosuchrun"], "key": "loss"})
    assert missing.status_code == 404, missing.text


async def test_every_run_id_is_authorized(settings: Settings) -> None:
    async with running_app(auth_settings(settings, rate_limit=False)) as (app, client):
        world = await seed_world(app, client)
        viewer = bearer(world.keys["a_viewer"])
        path = "/api/v1/runs/compare"
        body = {"run_ids": [world.runs["a"]], "key": "loss"}
        allowed = await client.post(path, json=body, headers=viewer)
        assert allowed.status_code == 200, allowed.text
        # One run of project B among A's: refused, not dropped from the answer.
        mixed = {"run_ids": [world.runs["a"], world.runs["b"]], "key": "loss"}
        refused = await client.post(path, json=mixed, headers=viewer)
        assert refused.status_code in (403, 404), refused.text
        theirs_only = {"run_ids": [world.runs["b"]], "key": "loss"}
        across = await client.post(path, json=theirs_only, headers=viewer)
        assert across.status_code in (403, 404), across.text
        anonymous = await client.post(path, json=body)
        assert anonymous.status_code == 401, anonymous.text
