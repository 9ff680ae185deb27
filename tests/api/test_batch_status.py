"""GET /api/v1/runs/{run_id}/batches: which metric batches of a run are committed (readable),
optionally waiting for them (long-poll)."""

import time

import httpx

from tests.api.factories import log_points, make_run


def status_url(run_id: str) -> str:
    return f"/api/v1/runs/{run_id}/batches"


async def test_a_stored_batch_is_committed_and_an_unknown_one_pending(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client)
    await log_points(client, run["id"], [{"key": "loss", "value": 1.0}], batch_id="b-1")
    response = await client.get(
        status_url(run["id"]), params={"batch_id": ["b-1", "never-sent", "b-1"]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"committed": ["b-1"], "pending": ["never-sent"]}


async def test_batch_ids_of_another_run_are_not_committed_for_this_one(
    client: httpx.AsyncClient,
) -> None:
    first, second = await make_run(client), await make_run(client)
    await log_points(client, first["id"], [{"key": "loss", "value": 1.0}], batch_id="b-1")
    response = await client.get(status_url(second["id"]), params={"batch_id": "b-1"})
    assert response.json() == {"committed": [], "pending": ["b-1"]}


async def test_a_long_poll_answers_pending_after_its_wait(client: httpx.AsyncClient) -> None:
    run = await make_run(client)
    started = time.monotonic()
    response = await client.get(
        status_url(run["id"]), params={"batch_id": "never-sent", "wait_s": 0.4}
    )
    assert response.json() == {"committed": [], "pending": ["never-sent"]}
    assert time.monotonic() - started >= 0.4


async def test_a_long_poll_answers_at_once_when_all_are_committed(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client)
    await log_points(client, run["id"], [{"key": "loss", "value": 1.0}], batch_id="b-1")
    started = time.monotonic()
    response = await client.get(status_url(run["id"]), params={"batch_id": "b-1", "wait_s": 10})
    assert response.json() == {"committed": ["b-1"], "pending": []}
    assert time.monotonic() - started < 5


async def test_status_of_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(status_url("0" * 32), params={"batch_id": "b-1"})
    assert response.status_code == 404, response.text


async def test_a_status_request_names_1_to_100_batches_of_up_to_64_characters(
    client: httpx.AsyncClient,
) -> None:
    run = await make_run(client)
    url = status_url(run["id"])
    assert (await client.get(url)).status_code == 400
    assert (await client.get(url, params={"batch_id": [""]})).status_code == 400
    assert (await client.get(url, params={"batch_id": ["x" * 65]})).status_code == 400
    too_many = [f"b-{i}" for i in range(101)]
    assert (await client.get(url, params={"batch_id": too_many})).status_code == 400
    hundred = await client.get(url, params={"batch_id": too_many[:100]})
    assert hundred.status_code == 200
    assert len(hundred.json()["pending"]) == 100
    waits_too_long = await client.get(url, params={"batch_id": "b-1", "wait_s": 21})
    assert waits_too_long.status_code == 400
