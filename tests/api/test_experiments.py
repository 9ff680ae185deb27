import httpx
import pytest

from tests.api.factories import make_experiment, make_run


async def test_created_experiment_can_be_read_back(client: httpx.AsyncClient) -> None:
    created = await make_experiment(client, "mnist", tags={"team": "vision"})
    assert created["name"] == "mnist"
    assert created["lifecycle_stage"] == "active"
    assert created["tags"] == {"team": "vision"}
    fetched = (await client.get(f"/api/v1/experiments/{created['id']}")).json()
    assert fetched == created
    by_name = (await client.get("/api/v1/experiments/by-name/mnist")).json()
    assert by_name["id"] == created["id"]


async def test_duplicate_active_name_is_a_409_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    await make_experiment(client, "dup")
    response = await client.post("/api/v1/experiments", json={"name": "dup"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "RESOURCE_ALREADY_EXISTS"
    listed = (await client.get("/api/v1/experiments", params={"name": "dup"})).json()
    assert len(listed["experiments"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 501},
        {"name": 5},
        {"name": "ok", "tags": {"": "v"}},
        {"name": "ok", "tags": {"bad key!": "v"}},
        {"name": "ok", "tags": {"k": "v" * 5001}},
    ],
)
async def test_invalid_experiment_bodies_are_400(client: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
    response = await client.post("/api/v1/experiments", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"
    names = [e["name"] for e in (await client.get("/api/v1/experiments")).json()["experiments"]]
    assert names == ["Default"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "error" in response.json()


async def test_unknown_experiment_is_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/v1/experiments/999"),
        ("PATCH", "/api/v1/experiments/999"),
        ("DELETE", "/api/v1/experiments/999"),
        ("POST", "/api/v1/experiments/999/restore"),
        ("GET", "/api/v1/experiments/by-name/nope"),
    ]:
        response = await client.request(method, path, json={})
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "RESOURCE_DOES_NOT_EXIST"


async def test_non_integer_experiment_id_is_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/experiments/abc")).status_code == 400


async def test_listing_pages_with_a_cursor_and_filters_by_name(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await make_experiment(client, f"sweep-{i}")
    await make_experiment(client, "other")
    seen = []
    token = None
    while True:
        params = {"name": "SWEEP", "limit": 2}
        if token:
            params["page_token"] = token
        page = (await client.get("/api/v1/experiments", params=params)).json()
        seen += [e["name"] for e in page["experiments"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == [f"sweep-{i}" for i in range(5)]


async def test_bad_page_token_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/experiments", params={"page_token": "!!!"})
    assert response.status_code == 400


async def test_update_renames_and_merges_tags(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client, "before", tags={"a": "1"})
    response = await client.patch(
        f"/api/v1/experiments/{exp['id']}", json={"name": "after", "tags": {"b": "2", "a": "3"}}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "after"
    assert response.json()["tags"] == {"a": "3", "b": "2"}


async def test_rename_onto_an_existing_name_is_409(client: httpx.AsyncClient) -> None:
    await make_experiment(client, "taken")
    exp = await make_experiment(client, "mine")
    response = await client.patch(f"/api/v1/experiments/{exp['id']}", json={"name": "taken"})
    assert response.status_code == 409
    assert (await client.get(f"/api/v1/experiments/{exp['id']}")).json()["name"] == "mine"


async def test_delete_is_soft_takes_runs_along_and_restore_brings_them_back(
    client: httpx.AsyncClient,
) -> None:
    exp = await make_experiment(client, "gone")
    run = await make_run(client, exp["id"])
    deleted = (await client.delete(f"/api/v1/experiments/{exp['id']}")).json()
    assert deleted["lifecycle_stage"] == "deleted"
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json()["lifecycle_stage"] == "deleted"
    active = (await client.get("/api/v1/experiments")).json()["experiments"]
    assert exp["id"] not in [e["id"] for e in active]
    only_deleted = (
        await client.get("/api/v1/experiments", params={"lifecycle_stage": "deleted"})
    ).json()["experiments"]
    assert [e["id"] for e in only_deleted] == [exp["id"]]
    # A deleted experiment frees its name; restoring then would clash.
    restored = (await client.post(f"/api/v1/experiments/{exp['id']}/restore")).json()
    assert restored["lifecycle_stage"] == "active"
    assert (await client.get(f"/api/v1/runs/{run['id']}")).json()["lifecycle_stage"] == "active"


async def test_restore_is_refused_when_the_name_was_taken_meanwhile(
    client: httpx.AsyncClient,
) -> None:
    exp = await make_experiment(client, "reused")
    await client.delete(f"/api/v1/experiments/{exp['id']}")
    await make_experiment(client, "reused")
    response = await client.post(f"/api/v1/experiments/{exp['id']}/restore")
    assert response.status_code == 409


async def test_default_experiment_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/experiments/0")
    assert response.status_code == 400
    assert (await client.get("/api/v1/experiments/0")).json()["lifecycle_stage"] == "active"


async def test_runs_cannot_be_created_in_a_deleted_experiment(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client)
    await client.delete(f"/api/v1/experiments/{exp['id']}")
    response = await client.post(f"/api/v1/experiments/{exp['id']}/runs", json={})
    assert response.status_code == 400
