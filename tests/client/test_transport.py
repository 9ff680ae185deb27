"""HTTP errors sorted into retry-worthy and final, with the server's own message."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest

from trackboard.client import codec
from trackboard.client.transport import (
    RequestRejectedError,
    TransientError,
    Transport,
    parse_retry_after,
)


def _transport(handler: object, api_key: str | None = None) -> Transport:
    return Transport("http://t.test/", api_key, 1.0, httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_retry_after_is_read_in_seconds_and_http_date_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(when, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after(when, now=2_000_000) == 0.0


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, headers={"Retry-After": "2"}, json={"error": {"code": "X", "message": "later"}}
        )

    with pytest.raises(TransientError) as caught:
        _transport(handler).request("GET", "/x")
    assert caught.value.retry_after == 2.0
    assert "later" in caught.value.reason


def test_connection_errors_are_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransientError, match="ConnectError"):
        _transport(handler).request("GET", "/x")


def test_client_errors_carry_the_servers_code_and_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": {"code": "INVALID_PARAMETER_VALUE", "message": "bad lr"}}
        )

    with pytest.raises(RequestRejectedError) as caught:
        _transport(handler).request("POST", "/x", {"a": 1})
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "INVALID_PARAMETER_VALUE",
        "bad lr",
    )
    assert not caught.value.is_auth_failure


def test_a_non_json_error_keeps_the_body_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="nginx: not found")

    with pytest.raises(RequestRejectedError, match="nginx: not found"):
        _transport(handler).request("GET", "/x")


def test_requests_go_under_api_v1_with_bearer_key_and_json_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    assert _transport(handler, api_key="k1").request(
        "POST", "/runs/search", {"v": [1.5, "NaN"]}
    ) == {"ok": True}
    request = seen[0]
    assert request.url == "http://t.test/api/v1/runs/search"
    assert request.headers["Authorization"] == "Bearer k1"
    assert json.loads(request.content) == {"v": [1.5, "NaN"]}
    assert request.headers["User-Agent"].startswith("trackboard-python/")


def test_bodies_encode_to_compact_json_that_round_trips() -> None:
    body = {"batch_id": "b", "columns": [{"key": "k", "steps": [1], "values": [0.1, "NaN"]}]}
    assert json.loads(codec.dumps(body)) == body
    assert codec.loads(codec.dumps(body)) == body


def test_an_empty_answer_is_none() -> None:
    assert _transport(lambda request: httpx.Response(204)).request("DELETE", "/x") is None
