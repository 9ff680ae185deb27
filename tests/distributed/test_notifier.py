"""`trackboard notifier` against the real PostgreSQL and RabbitMQ: every door notifies,
through the outbox and the notifier's quorum queue, exactly once per rule and event."""

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.distributed.conftest import WorkerProcess
from tests.live_server import live_server
from tests.notifications.receivers import HttpReceiver, http_receiver, smtp_receiver
from trackboard.server.backends.event_relay import RabbitEventPublisher
from trackboard.server.config import Settings
from trackboard.server.events import Event
from trackboard.server.notifier import watch_rule_changes

ALLOW_LOOPBACK = {
    "TRACKBOARD_NOTIFY_ALLOW_HTTP": "true",
    "TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
    "TRACKBOARD_NOTIFY_SEND_TIMEOUT_S": "3",
}


def server_env(pg_url: str, amqp_url: str, **extra: str) -> dict[str, str]:
    return {
        "TRACKBOARD_DATABASE_URL": pg_url,
        "TRACKBOARD_AMQP_URL": amqp_url,
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_LOG_JSON": "false",
        "TRACKBOARD_EVENT_RELAY_POLL_INTERVAL_S": "0.2",
        **ALLOW_LOOPBACK,
        **extra,
    }


@contextmanager
def cluster(
    tmp_path: Path, pg_url: str, amqp_url: str, processes: list[WorkerProcess], **extra: str
) -> Iterator[tuple[str, WorkerProcess]]:
    """An API server, a worker and a notifier, each its own process."""
    env = server_env(pg_url, amqp_url, **extra)
    tmp_path.mkdir(parents=True, exist_ok=True)
    worker = WorkerProcess(pg_url, amqp_url, tmp_path, extra_env=env)
    notifier = WorkerProcess(pg_url, amqp_url, tmp_path, command="notifier", extra_env=env)
    processes.extend([worker, notifier])
    worker.start()
    notifier.start()
    with live_server(tmp_path / "server", env) as url:
        yield url, notifier


async def wait_for(check: Any, timeout_s: float) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def add_rule(url: str, **body: Any) -> Any:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post("/api/v1/notification-rules", json={"name": "r", **body})
    assert response.status_code == 201, response.text
    return response.json()


def signed(receiver: HttpReceiver, secret: str) -> list[dict[str, Any]]:
    bodies = []
    for request in receiver.requests:
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["Trackboard-Signature"] == f"sha256={expected}"
        bodies.append(json.loads(request.body))
    return bodies


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


async def test_mlflow_and_v1_run_ends_notify_within_two_seconds(
    tmp_path: Path, pg_url: str, amqp_url: str, processes: list[WorkerProcess]
) -> None:
    import mlflow

    async with http_receiver() as receiver:
        with cluster(tmp_path, pg_url, amqp_url, processes) as (url, _):
            await add_rule(
                url,
                triggers=[{"type": "run.finished"}],
                channels=[{"type": "webhook", "url": receiver.url, "secret": "k"}],
            )
            os.environ["MLFLOW_TRACKING_URI"] = url
            try:
                mlflow.set_tracking_uri(url)

                def mlflow_run() -> str:
                    with mlflow.start_run(run_name="via-mlflow") as run:
                        mlflow.log_param("lr", "0.01")
                        mlflow.log_metric("acc", 0.9, step=1)
                    return str(run.info.run_id)

                mlflow_id = await asyncio.to_thread(mlflow_run)
                ended = time.monotonic()
                await wait_for(lambda: len(receiver.requests) >= 1, 2.0)
                mlflow_latency = time.monotonic() - ended
            finally:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            async with httpx.AsyncClient(base_url=url) as client:
                run = (
                    await client.post("/api/v1/experiments/0/runs", json={"name": "via-v1"})
                ).json()
                ended = time.monotonic()
                await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
            await wait_for(lambda: len(receiver.requests) >= 2, 2.0)
            v1_latency = time.monotonic() - ended
            await asyncio.sleep(0.5)
    bodies = signed(receiver, "k")
    assert sorted(b["run_id"] for b in bodies) == sorted([mlflow_id, run["id"]])
    assert {b["run"]["name"] for b in bodies} == {"via-mlflow", "via-v1"}
    print(f"end → webhook: MLflow {mlflow_latency * 1000:.0f} ms, v1 {v1_latency * 1000:.0f} ms")


async def test_threshold_crossed_through_the_worker_sends_one_email(
    tmp_path: Path, pg_url: str, amqp_url: str, processes: list[WorkerProcess]
) -> None:
    with smtp_receiver() as smtp:
        smtp_env = {"TRACKBOARD_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
        with cluster(tmp_path, pg_url, amqp_url, processes, **smtp_env) as (url, _):
            await add_rule(
                url,
                triggers=[{"type": "metric.threshold", "key": "loss", "op": ">", "value": 5.0}],
                channels=[{"type": "email", "to": ["ml@example.com"]}],
            )
            async with httpx.AsyncClient(base_url=url) as client:
                run = (await client.post("/api/v1/experiments/0/runs", json={})).json()
                for step in range(5):
                    points = [{"key": "loss", "value": 4.0 + step, "step": step}]
                    response = await client.post(
                        f"/api/v1/runs/{run['id']}/metrics", json={"metrics": points}
                    )
                    assert response.status_code == 202, response.text
            await wait_for(lambda: len(smtp.messages) >= 1, 10.0)
            await asyncio.sleep(1.0)
    assert len(smtp.messages) == 1
    envelope, message = smtp.messages[0]
    assert envelope.rcpt_tos == ["ml@example.com"]
    assert "loss" in str(message["Subject"])


async def test_a_notifier_killed_mid_send_resends_only_what_was_in_flight(
    tmp_path: Path, pg_url: str, amqp_url: str, processes: list[WorkerProcess]
) -> None:
    runs = 6
    async with http_receiver(delay_s=1.5) as receiver:
        with cluster(tmp_path, pg_url, amqp_url, processes) as (url, notifier):
            await add_rule(
                url,
                triggers=[{"type": "run.finished"}],
                channels=[{"type": "webhook", "url": receiver.url}],
            )
            async with httpx.AsyncClient(base_url=url) as client:
                for index in range(runs):
                    run = (
                        await client.post("/api/v1/experiments/0/runs", json={"name": f"r{index}"})
                    ).json()
                    await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
            await wait_for(lambda: len(receiver.requests) >= 1, 10.0)
            notifier.kill9()
            in_flight = {r.headers["Trackboard-Delivery-Id"] for r in receiver.requests}
            notifier.start()

            def delivered() -> set[str]:
                return {r.headers["Trackboard-Delivery-Id"] for r in receiver.requests}

            await wait_for(lambda: len(delivered()) == runs, 60.0)
            await asyncio.sleep(2.0)
    counts: dict[str, int] = {}
    for request in receiver.requests:
        key = request.headers["Trackboard-Delivery-Id"]
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == runs
    # Only the sends in flight at the kill may arrive twice (receivers dedupe them by
    # Trackboard-Delivery-Id); every other notification arrived exactly once.
    assert all(count == 1 for key, count in counts.items() if key not in in_flight)
    assert all(count <= 2 for count in counts.values())
    print(f"in flight at the kill: {len(in_flight)}; resent: {sum(counts.values()) - runs}")


async def test_a_loopback_target_is_refused_at_creation_and_at_send(
    tmp_path: Path, pg_url: str, amqp_url: str, processes: list[WorkerProcess]
) -> None:
    async with http_receiver() as receiver:
        guarded = {"TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "false"}
        # A rule saved while loopback was allowed (or a name that resolves there later)...
        with cluster(tmp_path / "a", pg_url, amqp_url, processes) as (url, _):
            rule = await add_rule(
                url,
                triggers=[{"type": "run.finished"}],
                channels=[{"type": "webhook", "url": f"{receiver.url}/"}],
            )
        for process in processes:
            process.stop()
        with cluster(tmp_path / "b", pg_url, amqp_url, processes, **guarded) as (url, _):
            async with httpx.AsyncClient(base_url=url) as client:
                refused = await client.post(
                    "/api/v1/notification-rules",
                    json={
                        "name": "x",
                        "triggers": [{"type": "run.finished"}],
                        "channels": [{"type": "webhook", "url": "http://127.0.0.1/"}],
                    },
                )
                assert refused.status_code == 400, refused.text
                run = (await client.post("/api/v1/experiments/0/runs", json={})).json()
                await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})

                async def given_up() -> bool:
                    answer = await client.get(f"/api/v1/notification-rules/{rule['id']}/deliveries")
                    found = answer.json()["deliveries"]
                    return bool(found) and found[0]["status"] == "failed"

                start = time.monotonic()
                while not await given_up():
                    assert time.monotonic() - start < 10, "the send was not refused"
                    await asyncio.sleep(0.1)
                deliveries = await client.get(f"/api/v1/notification-rules/{rule['id']}/deliveries")
    assert receiver.requests == []
    assert "loopback" in deliveries.json()["deliveries"][0]["last_error"]


async def test_every_notifier_hears_of_every_rule_change(amqp_url: str) -> None:
    """The shared queue hands a rule's change to one notifier; each notifier's own queue
    (`watch_rule_changes`) tells every one of them."""
    settings = Settings(amqp_url=amqp_url)
    forgotten = [0, 0]

    def counter(index: int) -> Callable[[], None]:
        def forget() -> None:
            forgotten[index] += 1

        return forget

    watchers = [await watch_rule_changes(settings, counter(index)) for index in range(2)]
    publisher = await RabbitEventPublisher.connect(amqp_url, settings.events_exchange_name)
    try:
        assert forgotten == [1, 1]  # once bound: what changed before went unheard
        events = [
            Event("run.finished", {}, run_id="r"),
            Event("notification_rule.changed", {"rule_id": 1, "change": "updated"}),
            Event("notification_rule.changed", {"rule_id": 1, "change": "deleted"}),
        ]
        await publisher.publish([(event.id, event.type, event.body) for event in events])
        await wait_for(lambda: forgotten == [3, 3], 5.0)
    finally:
        await publisher.close()
        for watcher in watchers:
            await watcher.close()
