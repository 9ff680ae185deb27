import httpx
import pytest

from tests.api.factories import log_points, make_experiment, make_run


async def search(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/api/v1/runs/search", json=body)


@pytest.fixture
async def runs(client: httpx.AsyncClient) -> dict[str, dict]:  # type: ignore[type-arg]
    """Four runs: acc 0.5/0.7/0.9/none, lr params, team tags, mixed statuses."""
    exp = await make_experiment(client, "sweep")
    made = {}
    for i, (acc, lr, team, status) in enumerate(
        [
            (0.5, "0.1", "nlp", "FINISHED"),
            (0.7, "0.01", "vision", "FAILED"),
            (0.9, "0.01", "nlp", "FINISHED"),
            (None, "0.001", "nlp team", "RUNNING"),
        ]
    ):
        run = await make_run(
            client,
            exp["id"],
            name=f"run-{i}",
            params={"lr": lr},
            tags={"team": team},
            start_time=1000 + i,
        )
        if acc is not None:
            await log_points(
                client,
                run["id"],
                [
                    {"key": "acc", "value": acc, "step": 1},
                    {"key": "val loss", "value": 1 - acc, "step": 1},
                ],
            )
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": status})
        made[run["name"]] = run
    return made


async def names(
    client: httpx.AsyncClient,
    filter: str | None = None,
    order_by: list[str] | None = None,
    experiment: int | None = None,
) -> list[str]:
    if experiment is None:
        experiment = (await client.get("/api/v1/experiments/by-name/sweep")).json()["id"]
    response = await search(
        client, experiment_ids=[experiment], filter=filter, order_by=order_by or []
    )
    assert response.status_code == 200, response.text
    return [run["name"] for run in response.json()["runs"]]


@pytest.mark.usefixtures("runs")
@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        (None, ["run-3", "run-2", "run-1", "run-0"]),
        ("metrics.acc > 0.6", ["run-2", "run-1"]),
        ("metrics.acc >= 0.7 and params.lr = '0.01'", ["run-2", "run-1"]),
        ("metrics.`val loss` < 0.2", ["run-2"]),
        ('metrics."val loss" < 0.2', ["run-2"]),
        ("params.lr != '0.01'", ["run-3", "run-0"]),
        ("tags.team = 'nlp'", ["run-2", "run-0"]),
        ("tags.team LIKE 'nlp%'", ["run-3", "run-2", "run-0"]),
        ("tags.team LIKE 'NLP%'", []),
        ("tags.team ILIKE 'NLP%'", ["run-3", "run-2", "run-0"]),
        ("attributes.status = 'FINISHED'", ["run-2", "run-0"]),
        ("attributes.status IN ('FAILED', 'RUNNING')", ["run-3", "run-1"]),
        ("status NOT IN ('FINISHED')", ["run-3", "run-1"]),
        ("attributes.run_name = 'run-1'", ["run-1"]),
        ("attributes.start_time >= 1002", ["run-3", "run-2"]),
        ("params.missing = 'x'", []),
        ("metrics.acc = 0.9 AND tags.team = 'nlp' and attributes.status = 'FINISHED'", ["run-2"]),
    ],
)
async def test_filters_select_the_matching_runs(
    client: httpx.AsyncClient, filter: str | None, expected: list[str]
) -> None:
    assert await names(client, filter) == expected


@pytest.mark.usefixtures("runs")
@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.acc DESC"], ["run-2", "run-1", "run-0", "run-3"]),
        (["metrics.acc ASC"], ["run-0", "run-1", "run-2", "run-3"]),
        (["metrics.acc"], ["run-0", "run-1", "run-2", "run-3"]),
        (["params.lr DESC"], ["run-0", "run-2", "run-1", "run-3"]),
        (["attributes.start_time ASC"], ["run-0", "run-1", "run-2", "run-3"]),
        (["tags.team ASC", "attributes.run_name DESC"], ["run-2", "run-0", "run-3", "run-1"]),
    ],
)
async def test_order_by_any_metric_param_tag_or_attribute(
    client: httpx.AsyncClient, order_by: list[str], expected: list[str]
) -> None:
    assert await names(client, None, order_by) == expected


@pytest.mark.parametrize(
    "filter",
    [
        "metrics.acc >",
        "metrics.acc > 'high'",
        "params.lr > '0.1'",
        "params.lr = 0.1",
        "metrics.acc > 0.5 or metrics.acc < 0.1",
        "foo.bar = 'x'",
        "attributes.colour = 'red'",
        "metrics.acc LIKE 'x'",
        "metrics.acc > 0.5 and",
        "tags.team IN 'nlp'",
        "tags.team IN ('nlp'",
        "metrics.acc > 0.5 metrics.b > 1",
        "params.lr = 'unterminated",
        "metrics.acc ~ 1",
    ],
)
async def test_malformed_filters_are_400_with_a_message(
    client: httpx.AsyncClient, filter: str
) -> None:
    response = await search(client, experiment_ids=[0], filter=filter)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_PARAMETER_VALUE"
    assert error["message"]


@pytest.mark.parametrize(
    "order_by", [["metrics.acc SIDEWAYS"], ["nonsense"], [""], ["metrics.a DESC x"]]
)
async def test_bad_order_by_is_400(client: httpx.AsyncClient, order_by: list[str]) -> None:
    response = await search(client, experiment_ids=[0], order_by=order_by)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"experiment_ids": []},
        {"experiment_ids": [0], "limit": 0},
        {"experiment_ids": [0], "limit": 1001},
        {"experiment_ids": [0], "page_token": "@@"},
    ],
)
async def test_bad_search_bodies_are_400(client: httpx.AsyncClient, body: dict) -> None:  # type: ignore[type-arg]
    assert (await client.post("/api/v1/runs/search", json=body)).status_code == 400


async def test_injection_attempts_are_just_values(client: httpx.AsyncClient, runs: dict) -> None:  # type: ignore[type-arg]
    assert await names(client, "params.lr = '0.01'' OR 1=1 --'") == []
    assert await names(client, "tags.`team' OR '1'='1` = 'x'") == []
    assert len(await names(client)) == 4


async def test_pages_cover_every_run_once(client: httpx.AsyncClient) -> None:
    exp = await make_experiment(client)
    for i in range(7):
        run = await make_run(client, exp["id"], start_time=5000 - (i % 3))
        await log_points(client, run["id"], [{"key": "m", "value": float(i % 2)}])
    seen: list[str] = []
    token = None
    while True:
        body = {"experiment_ids": [exp["id"]], "order_by": ["metrics.m DESC"], "limit": 3}
        if token:
            body["page_token"] = token
        page = (await search(client, **body)).json()
        seen += [run["id"] for run in page["runs"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert len(seen) == 7 == len(set(seen))


async def test_deleted_runs_are_found_only_when_asked(
    client: httpx.AsyncClient, runs: dict
) -> None:  # type: ignore[type-arg]
    await client.delete(f"/api/v1/runs/{runs['run-1']['id']}")
    assert "run-1" not in await names(client)
    exp = runs["run-1"]["experiment_id"]
    deleted = await search(client, experiment_ids=[exp], lifecycle_stage="deleted")
    assert [r["name"] for r in deleted.json()["runs"]] == ["run-1"]


async def test_search_spans_several_experiments(client: httpx.AsyncClient) -> None:
    a = await make_run(client)
    b = await make_run(client)
    response = await search(client, experiment_ids=[a["experiment_id"], b["experiment_id"]])
    assert {r["id"] for r in response.json()["runs"]} == {a["id"], b["id"]}
