"""The embedded notifier end to end: v1 API changes → events → rules → loopback receivers."""

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.factories import log_points, make_experiment, make_run
from tests.notifications.receivers import (
    ReceivedRequest,
    SmtpReceiver,
    http_receiver,
    smtp_receiver,
)
from trackboard.server.app import create_app
from trackboard.server.config import Settings

SECRET = "s3cr3t"


def asgi_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout_s: float) -> float:
    """Seconds until `check()` held; fails after `timeout_s`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout_s} s")


async def add_rule(client: httpx.AsyncClient, **body: Any) -> Any:
    response = await client.post("/api/v1/notification-rules", json={"name": "r", **body})
    assert response.status_code == 201, response.text
    return response.json()


def verify_signature(request: ReceivedRequest, secret: str) -> None:
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["Trackboard-Signature"] == f"sha256={expected}"


async def test_finished_run_sends_a_signed_webhook_within_two_seconds(
    client: httpx.AsyncClient,
) -> None:
    async with http_receiver() as receiver:
        experiment = await make_experiment(client)
        await add_rule(
            client,
            experiment_ids=[experiment["id"]],
            triggers=[{"type": "run.finished"}],
            channels=[{"type": "webhook", "url": f"{receiver.url}/hook", "secret": SECRET}],
        )
        run = await make_run(client, experiment["id"], name="bright-fox")
        await log_points(client, run["id"], [{"key": "acc", "value": 0.9, "step": 1}])
        finished = await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
        assert finished.status_code == 200
        waited = await eventually(lambda: len(receiver.requests) == 1, 2.0)
        request = receiver.requests[0]
        verify_signature(request, SECRET)
        body = json.loads(request.body)
        assert body["type"] == "run.finished"
        assert body["run_id"] == run["id"]
        assert body["run"]["name"] == "bright-fox"
        assert body["url"].endswith(f"/runs/{run['id']}")
        assert request.headers["Trackboard-Event-Id"] == body["event_id"]
        assert request.headers["Trackboard-Delivery-Id"] == body["id"]
        print(f"run finished → webhook received in {waited * 1000:.0f} ms")
        # Nothing else fires: a second status change is another event, not this trigger.
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == 1


async def test_failed_run_sends_a_slack_message(client: httpx.AsyncClient) -> None:
    async with http_receiver() as receiver:
        await add_rule(
            client,
            triggers=[{"type": "run.failed"}],
            channels=[{"type": "slack", "url": f"{receiver.url}/services/T/B/X"}],
        )
        run = await make_run(client, name="sad-otter")
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FAILED"})
        await eventually(lambda: len(receiver.requests) == 1, 2.0)
        message = json.loads(receiver.requests[0].body)
        assert "sad-otter" in message["text"]
        assert "failed" in message["text"]
        assert "blocks" in message


async def test_threshold_and_nan_are_reported_once_per_run(client: httpx.AsyncClient) -> None:
    async with http_receiver() as receiver:
        await add_rule(
            client,
            triggers=[
                {
                    "type": "metric.threshold",
                    "key": "loss",
                    "op": ">",
                    "value": 5.0,
                    "after_step": 10,
                },
                {"type": "metric.nan", "key": "loss"},
            ],
            channels=[{"type": "webhook", "url": receiver.url}],
        )
        run = await make_run(client)
        # Above the threshold before step 10 only: the warm-up is ignored.
        await log_points(client, run["id"], [{"key": "loss", "value": 9.0, "step": 1}])
        await asyncio.sleep(0.5)
        assert receiver.requests == []
        for step in (11, 12, 13):
            await log_points(
                client, run["id"], [{"key": "loss", "value": 6.0 + step, "step": step}]
            )
        await log_points(client, run["id"], [{"key": "loss", "value": "NaN", "step": 14}])
        await log_points(client, run["id"], [{"key": "loss", "value": "NaN", "step": 15}])
        await eventually(lambda: len(receiver.requests) == 2, 3.0)
        await asyncio.sleep(0.5)
        kinds = sorted(json.loads(r.body)["type"] for r in receiver.requests)
        assert kinds == ["metric.nan", "metric.threshold"]
        threshold = next(
            json.loads(r.body) for r in receiver.requests if b"metric.threshold" in r.body
        )
        assert threshold["details"]["step"] == 11
        assert threshold["details"]["value"] == 17.0


async def test_run_alert_reaches_the_rule(client: httpx.AsyncClient) -> None:
    async with http_receiver() as receiver:
        await add_rule(
            client,
            triggers=[{"type": "run.alert", "min_level": "warn"}],
            channels=[{"type": "webhook", "url": receiver.url}],
        )
        run = await make_run(client)
        for level in ("info", "error"):
            response = await client.post(
                f"/api/v1/runs/{run['id']}/alerts",
                json={"title": f"{level} alert", "text": "details", "level": level},
            )
            assert response.status_code == 202, response.text
        await eventually(lambda: len(receiver.requests) == 1, 2.0)
        await asyncio.sleep(0.3)
        body = json.loads(receiver.requests[0].body)
        assert body["type"] == "run.alert"
        assert body["level"] == "error"
        assert "error alert" in body["title"]


async def test_a_receiver_failing_three_times_gets_the_notification_once(
    client: httpx.AsyncClient,
) -> None:
    async with http_receiver(status=500) as receiver:
        rule = await add_rule(
            client,
            triggers=[{"type": "run.killed"}],
            channels=[{"type": "webhook", "url": receiver.url}],
        )
        run = await make_run(client)
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "KILLED"})
        # Three 500s, then 200: the retries back off 1, 2 and 4 s, so this turns in time.
        await eventually(lambda: len(receiver.requests) == 3, 10.0)
        receiver.status = 200

        async def sent() -> bool:
            deliveries = await client.get(f"/api/v1/notification-rules/{rule['id']}/deliveries")
            return (
                bool(deliveries.json()["deliveries"][0]["status"] == "sent")
                if deliveries.json()["deliveries"]
                else False
            )

        await eventually(sent, 20.0)
        assert len(receiver.requests) == 4
        ids = {r.headers["Trackboard-Delivery-Id"] for r in receiver.requests}
        assert len(ids) == 1  # the same delivery, retried
        delivery = (await client.get(f"/api/v1/notification-rules/{rule['id']}/deliveries")).json()
        assert delivery["deliveries"][0]["attempts"] == 4


async def test_stalled_run_is_reported_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    async with http_receiver() as receiver:
        await add_rule(
            client,
            triggers=[{"type": "run.stalled", "minutes": 0.01}],
            channels=[{"type": "webhook", "url": receiver.url}],
        )
        stalled = await make_run(client, name="sleepy")
        finished = await make_run(client)
        await client.patch(f"/api/v1/runs/{finished['id']}", json={"status": "FINISHED"})
        await asyncio.sleep(1.0)  # both idle longer than 0.6 s; only one is RUNNING
        engine = app.state.notifier
        for _ in range(3):
            await engine.check_stalled_runs()
        await eventually(lambda: len(receiver.requests) == 1, 2.0)
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 1
        body = json.loads(receiver.requests[0].body)
        assert body["type"] == "run.stalled"
        assert body["run_id"] == stalled["id"]


async def test_email_goes_out_through_smtp(settings: Settings) -> None:
    with smtp_receiver() as smtp:
        app = create_app(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp.port}"}))
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            await send_one_email(client, smtp)


async def send_one_email(client: httpx.AsyncClient, smtp: SmtpReceiver) -> None:
    await add_rule(
        client,
        triggers=[{"type": "run.finished"}],
        channels=[{"type": "email", "to": ["ml-team@example.com"]}],
    )
    run = await make_run(client, name="<b>bold</b>")
    await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
    await eventually(lambda: len(smtp.messages) == 1, 3.0)
    envelope, message = smtp.messages[0]
    assert envelope.rcpt_tos == ["ml-team@example.com"]
    assert "finished" in str(message["Subject"])


@pytest.mark.parametrize("status", ["FINISHED"])
async def test_rule_test_endpoint_reports_each_channel(
    client: httpx.AsyncClient, status: str
) -> None:
    async with http_receiver() as ok, http_receiver(status=404) as missing:
        rule = await add_rule(
            client,
            triggers=[{"type": "run.finished"}],
            channels=[
                {"type": "webhook", "url": ok.url},
                {"type": "webhook", "url": missing.url},
            ],
        )
        response = await client.post(f"/api/v1/notification-rules/{rule['id']}/test")
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["ok"] for r in results] == [True, False]
        assert "404" in results[1]["error"]
        assert json.loads(ok.requests[0].body)["type"] == "test"
