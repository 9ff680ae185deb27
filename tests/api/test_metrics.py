import math

import httpx
import pytest

from tests.api.factories import log_points, make_run


async def history(client: httpx.AsyncClient, run_id: str, key: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/runs/{run_id}/metrics/{key}", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_points_come_back_in_step_order_with_non_finite_values(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client)
    await log_points(
        client,
        run["id"],
        [
            {"key": "loss", "value": 0.5, "step": 2, "timestamp": 3},
            {"key": "loss", "value": "NaN", "step": 1, "timestamp": 2},
            {"key": "loss", "value": "-Infinity", "step": 0, "timestamp": 1},
            {"key": "loss", "value": "Infinity", "step": 3, "timestamp": 4},
        ],
    )
    points = (await history(client, run["id"], "loss"))["points"]
    assert points == [
        {"step": 0, "value": "-Infinity", "timestamp": 1},
        {"step": 1, "value": "NaN", "timestamp": 2},
        {"step": 2, "value": 0.5, "timestamp": 3},
        {"step": 3, "value": "Infinity", "timestamp": 4},
    ]


async def test_columnar_and_row_forms_store_the_same_points(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    response = await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        json={
            "columns": [
                {"key": "acc", "steps": [0, 1], "values": [0.1, 0.2], "timestamps": [5, 6]}
            ],
            "metrics": [{"key": "acc", "value": 0.3, "step": 2, "timestamp": 7}],
        },
    )
    assert response.json() == {
        "accepted": 3,
        "duplicate": False,
        "batch_id": None,
        "committed": True,
    }
    body = await history(client, run["id"], "acc", format="columns")
    assert body["steps"] == [0, 1, 2]
    assert body["values"] == [0.1, 0.2, 0.3]
    assert body["timestamps"] == [5, 6, 7]


async def test_repeated_batch_id_is_stored_once(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    batch = [{"key": "loss", "value": 1.0, "step": 0}]
    first = await log_points(client, run["id"], batch, batch_id="b-1")
    second = await log_points(client, run["id"], batch, batch_id="b-1")
    assert first == {"accepted": 1, "duplicate": False, "batch_id": "b-1", "committed": True}
    assert second == {"accepted": 0, "duplicate": True, "batch_id": "b-1", "committed": True}
    assert len((await history(client, run["id"], "loss"))["points"]) == 1
    summary = (await client.get(f"/api/v1/runs/{run['id']}")).json()["metrics"]["loss"]
    assert summary["count"] == 1


async def test_summary_tracks_latest_min_max_and_count_across_batches(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client)
    await log_points(
        client,
        run["id"],
        [
            {"key": "m", "value": v, "step": s, "timestamp": s}
            for s, v in [(0, 5.0), (1, 1.0), (2, "NaN")]
        ],
    )
    await log_points(client, run["id"], [{"key": "m", "value": 9.0, "step": 1, "timestamp": 10}])
    summary = (await client.get(f"/api/v1/runs/{run['id']}")).json()["metrics"]["m"]
    assert summary == {
        "value": "NaN",
        "step": 2,
        "timestamp": 2,
        "min": 1.0,
        "max": 9.0,
        "count": 4,
    }
    await log_points(client, run["id"], [{"key": "m", "value": -3.0, "step": 7, "timestamp": 11}])
    summary = (await client.get(f"/api/v1/runs/{run['id']}")).json()["metrics"]["m"]
    assert summary == {
        "value": -3.0,
        "step": 7,
        "timestamp": 11,
        "min": -3.0,
        "max": 9.0,
        "count": 5,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": [{"key": "a", "value": "abc"}]},
        {"metrics": [{"key": "a", "value": True}]},
        {"metrics": [{"key": "", "value": 1}]},
        {"metrics": [{"key": "bad key!", "value": 1}]},
        {"metrics": [{"key": "a", "value": 1, "step": 2**64}]},
        {"metrics": [{"key": "a", "value": 1, "step": "x"}]},
        {"metrics": [{"key": "a"}]},
        {"columns": [{"key": "a", "steps": [1, 2], "values": [1.0]}]},
        {"columns": [{"key": "a", "steps": [1], "values": ["x"]}]},
        {"metrics": [{"key": "a", "value": 1.0, "step": i} for i in range(10_001)]},
        {"columns": [{"key": "a", "steps": list(range(10_001)), "values": [1.0] * 10_001}]},
        {"batch_id": "", "metrics": []},
        {"batch_id": "x" * 65, "metrics": []},
    ],
)
async def test_bad_batches_are_400_and_store_nothing(client: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
    run = await make_run(client)
    good = {"key": "ok", "value": 1.0, "step": 0}
    if "metrics" in body:
        body = {**body, "metrics": [good, *body["metrics"]]}
    response = await client.post(f"/api/v1/runs/{run['id']}/metrics", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json()["metrics"] == {}
    assert (await history(client, run["id"], "ok"))["points"] == []


async def test_keys_with_slashes_round_trip(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    await log_points(client, run["id"], [{"key": "system/gpu.0/util", "value": 3.0}])
    points = (await history(client, run["id"], "system/gpu.0/util"))["points"]
    assert [p["value"] for p in points] == [3.0]


async def test_downsampled_history_keeps_spikes_and_nan(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    values: list[float | str] = [math.sin(i / 100) for i in range(20_000)]
    values[12_345] = 1000.0
    values[777] = "NaN"
    await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        json={"columns": [{"key": "s", "steps": list(range(10_000)), "values": values[:10_000]}]},
    )
    await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        json={
            "columns": [
                {"key": "s", "steps": list(range(10_000, 20_000)), "values": values[10_000:]}
            ]
        },
    )
    body = await history(client, run["id"], "s", max_points=200)
    points = body["points"]
    assert len(points) <= 200
    steps = [p["step"] for p in points]
    assert steps == sorted(steps)
    assert steps[0] == 0
    assert steps[-1] == 19_999
    assert {k: points[steps.index(12_345)][k] for k in ("step", "value")} == {
        "step": 12_345,
        "value": 1000.0,
    }
    assert points[steps.index(777)]["value"] == "NaN"


async def test_step_range_zooms_into_the_series(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    await client.post(
        f"/api/v1/runs/{run['id']}/metrics",
        json={
            "columns": [
                {"key": "z", "steps": list(range(100)), "values": [float(i) for i in range(100)]}
            ]
        },
    )
    body = await history(client, run["id"], "z", start_step=10, end_step=19, format="columns")
    assert body["steps"] == list(range(10, 20))


async def test_step_range_beyond_64_bits_is_a_400(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    for params in ({"start_step": 2**70}, {"end_step": -(2**64)}):
        response = await client.get(f"/api/v1/runs/{run['id']}/metrics/z", params=params)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"]


async def test_long_history_is_paged_past_100k_points(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    total = 120_000
    for start in range(0, total, 10_000):
        steps = list(range(start, start + 10_000))
        response = await client.post(
            f"/api/v1/runs/{run['id']}/metrics",
            json={"columns": [{"key": "p", "steps": steps, "values": [float(s) for s in steps]}]},
        )
        assert response.status_code == 200
    first = await history(client, run["id"], "p", format="columns")
    assert len(first["steps"]) == 100_000
    assert first["next_page_token"]
    second = await history(
        client, run["id"], "p", format="columns", page_token=first["next_page_token"]
    )
    assert second["steps"] == list(range(100_000, total))
    assert second["next_page_token"] is None


@pytest.mark.parametrize(
    "params", [{"max_points": 1}, {"max_points": "x"}, {"page_token": "%%%"}, {"format": "xml"}]
)
async def test_bad_history_queries_are_400(client: httpx.AsyncClient, params: dict) -> None:  # type: ignore[type-arg]
    run = await make_run(client)
    response = await client.get(f"/api/v1/runs/{run['id']}/metrics/a", params=params)
    assert response.status_code == 400
