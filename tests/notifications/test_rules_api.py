"""The rules API: shapes, secrets never echoed, targets checked at creation."""

import httpx
import pytest

from tests.api.factories import make_experiment

WEBHOOK = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3cr3t"}
SLACK = {"type": "slack", "url": "http://127.0.0.1:9/services/T000/B000/XXXX"}
EMAIL = {"type": "email", "to": ["ml-team@example.com"]}


def rule_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "sweep done",
        "triggers": [
            {"type": "run.finished"},
            {"type": "run.failed"},
            {"type": "metric.threshold", "key": "loss", "op": ">", "value": 5.0},
            {"type": "run.stalled", "minutes": 30},
        ],
        "channels": [WEBHOOK, SLACK, EMAIL],
    }
    body.update(overrides)
    return body


async def test_rule_round_trips_without_its_secrets(client: httpx.AsyncClient) -> None:
    experiment = await make_experiment(client)
    created = await client.post(
        "/api/v1/notification-rules", json=rule_body(experiment_ids=[experiment["id"]])
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["experiment_ids"] == [experiment["id"]]
    assert rule["triggers"][2] == {
        "type": "metric.threshold",
        "key": "loss",
        "op": ">",
        "value": 5.0,
        "after_step": None,
    }
    assert rule["channels"] == [
        {"type": "webhook", "url": WEBHOOK["url"], "has_secret": True},
        {"type": "slack", "host": "127.0.0.1"},
        {"type": "email", "to": ["ml-team@example.com"]},
    ]
    for response in (
        created,
        await client.get(f"/api/v1/notification-rules/{rule['id']}"),
        await client.get("/api/v1/notification-rules"),
    ):
        assert "s3cr3t" not in response.text
        assert "XXXX" not in response.text
    listed = (await client.get("/api/v1/notification-rules")).json()["rules"]
    assert [r["id"] for r in listed] == [rule["id"]]


async def test_rule_update_and_delete(client: httpx.AsyncClient) -> None:
    rule = (await client.post("/api/v1/notification-rules", json=rule_body())).json()
    changed = await client.patch(
        f"/api/v1/notification-rules/{rule['id']}",
        json={"name": "renamed", "enabled": False, "run_filter": "params.lr = '0.01'"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "renamed"
    assert changed.json()["enabled"] is False
    assert changed.json()["run_filter"] == "params.lr = '0.01'"
    assert (await client.delete(f"/api/v1/notification-rules/{rule['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/notification-rules/{rule['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"triggers": [{"type": "run.exploded"}]}, "run.exploded"),
        ({"triggers": []}, "at least 1"),
        ({"channels": [{"type": "webhook", "url": "ftp://example.com/x"}]}, "http"),
        ({"run_filter": "metrics.acc >>> 3"}, ""),
        ({"experiment_ids": [987654]}, "does not exist"),
        ({"experiment_ids": ["+1"]}, ""),
    ],
)
async def test_bad_rules_are_refused_with_a_reason(
    client: httpx.AsyncClient, change: dict[str, object], message: str
) -> None:
    response = await client.post("/api/v1/notification-rules", json=rule_body(**change))
    assert response.status_code in (400, 404, 422), response.text
    assert message in response.text
    assert (await client.get("/api/v1/notification-rules")).json()["rules"] == []
