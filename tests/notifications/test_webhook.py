"""The webhook channel against a real HTTP receiver on loopback."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import MappingProxyType

import orjson
import pytest

from tests.live_server import free_port
from tests.notifications.receivers import ScriptedResolver, http_receiver, make_notification
from trackboard._version import __version__
from trackboard.server.notifications.http_post import retry_after_seconds
from trackboard.server.notifications.notification import SendError, WebhookTarget
from trackboard.server.notifications.senders import Senders
from trackboard.server.notifications.webhook import webhook_body


async def send(
    url: str,
    *,
    secret: str | None = None,
    allow_private: bool = True,
    allow_http: bool = True,
    timeout_s: float = 5.0,
) -> None:
    """Send the standard notification to a webhook, with both allow settings on by default
    (the receiver is on loopback)."""
    channels = Senders(
        allow_http=allow_http,
        allow_private=allow_private,
        timeout_s=timeout_s,
        smtp_url=None,
        smtp_from="trackboard@example.com",
    )
    try:
        await channels.send(WebhookTarget(url=url, secret=secret), make_notification())
    finally:
        await channels.aclose()


async def test_the_body_is_signed_so_a_receiver_can_verify_it() -> None:
    async with http_receiver() as receiver:
        await send(f"{receiver.url}/hook?team=ml", secret="s3cret")

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook?team=ml"
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["Trackboard-Signature"], f"sha256={expected}")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"Trackboard/{__version__}"
    assert request.headers["Trackboard-Event-Id"] == "e-7"
    assert request.headers["Trackboard-Delivery-Id"] == "d-42"
    body = orjson.loads(request.body)
    assert body["id"] == "d-42"
    assert body["event_id"] == "e-7"
    assert body["type"] == "metric.threshold"
    assert body["rule"] == {"id": 3, "name": "loss too high"}
    assert body["level"] == "warn"
    assert body["occurred_at"] == 1_790_000_000_000
    assert (body["project_id"], body["experiment_id"], body["run_id"]) == (1, 2, "r1")
    assert body["run"]["metrics"]["loss"]["value"] == 7.1
    assert body["details"]["threshold"] == 5.0
    assert body["url"] == "https://trackboard.example/runs/r1"


def test_read_only_mappings_and_nan_encode_as_json() -> None:
    notification = make_notification(
        run=MappingProxyType({"name": "r", "metrics": MappingProxyType({"loss": {"value": 1}})}),
        details=MappingProxyType({"key": "loss", "value": float("nan")}),
    )
    body = orjson.loads(webhook_body(notification))
    assert body["run"] == {"name": "r", "metrics": {"loss": {"value": 1}}}
    assert body["details"] == {"key": "loss", "value": None}


async def test_without_a_secret_no_signature_is_sent() -> None:
    async with http_receiver() as receiver:
        await send(receiver.url)
    assert "Trackboard-Signature" not in receiver.requests[0].headers


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_server_errors_and_throttling_are_retryable(status: int) -> None:
    async with http_receiver(status=status) as receiver:
        with pytest.raises(SendError) as raised:
            await send(receiver.url)
    assert raised.value.retryable
    assert f"HTTP {status}" in raised.value.reason
    assert raised.value.retry_after_s is None


async def test_retry_after_is_passed_on() -> None:
    async with http_receiver(status=429, headers={"Retry-After": "7"}) as receiver:
        with pytest.raises(SendError) as raised:
            await send(receiver.url)
    assert raised.value.retryable
    assert raised.value.retry_after_s == 7.0


def test_retry_after_may_be_an_http_date() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("²", now) is None


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_client_errors_are_permanent(status: int) -> None:
    async with http_receiver(status=status) as receiver:
        with pytest.raises(SendError) as raised:
            await send(receiver.url)
    assert not raised.value.retryable


async def test_redirects_are_permanent_and_not_followed() -> None:
    async with http_receiver(status=302) as receiver:
        receiver.headers["Location"] = f"{receiver.url}/elsewhere"
        with pytest.raises(SendError, match="redirects are not followed") as raised:
            await send(f"{receiver.url}/hook")
    assert not raised.value.retryable
    assert [request.path for request in receiver.requests] == ["/hook"]


async def test_a_receiver_too_slow_to_answer_is_retryable() -> None:
    async with http_receiver(delay_s=10) as receiver:
        with pytest.raises(SendError, match=r"did not answer within 0\.3 s") as raised:
            await send(receiver.url, timeout_s=0.3)
    assert raised.value.retryable


async def test_a_refused_connection_is_retryable() -> None:
    with pytest.raises(SendError, match=r"connection to 127\.0\.0\.1 failed") as raised:
        await send(f"http://127.0.0.1:{free_port()}/hook")
    assert raised.value.retryable


async def test_loopback_is_refused_at_send_time_without_the_allow_setting() -> None:
    async with http_receiver() as receiver:
        for url in (receiver.url, f"http://localhost:{receiver.port}"):
            with pytest.raises(SendError, match="loopback address") as raised:
                await send(f"{url}/hook", allow_private=False)
            assert not raised.value.retryable
    assert receiver.requests == []


async def test_plain_http_is_refused_at_send_time_without_the_allow_setting() -> None:
    async with http_receiver() as receiver:
        with pytest.raises(SendError, match="https://") as raised:
            await send(receiver.url, allow_http=False)
    assert not raised.value.retryable
    assert receiver.requests == []


async def test_errors_name_the_host_but_not_the_path_or_secret() -> None:
    async with http_receiver(status=404) as receiver:
        with pytest.raises(SendError) as raised:
            await send(f"{receiver.url}/T000/B000/XXXXsecretpath", secret="s3cret")
    assert "127.0.0.1" in str(raised.value)
    assert "secretpath" not in str(raised.value)
    assert "s3cret" not in str(raised.value)


async def test_a_name_is_resolved_and_checked_by_the_guard_at_send_time() -> None:
    resolver = ScriptedResolver(["127.0.0.1"])
    async with http_receiver() as receiver:
        channels = Senders(
            allow_http=True,
            allow_private=True,
            timeout_s=5,
            smtp_url=None,
            smtp_from="trackboard@example.com",
            resolver=resolver,
        )
        try:
            await channels.send(
                WebhookTarget(url=f"http://hooks.test:{receiver.port}/"), make_notification()
            )
        finally:
            await channels.aclose()
    assert resolver.calls == [("hooks.test", receiver.port)]
    assert receiver.requests[0].headers["Host"] == f"hooks.test:{receiver.port}"
