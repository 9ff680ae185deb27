"""POST a JSON body to a webhook or Slack URL, and turn the answer into sent or `SendError`.

Webhook and Slack differ only in the body and a few headers; the send-time URL check, the
deadline and which answers are worth retrying live here, once. (The address check happens
in the connection: `target_guard.GuardedNetworkBackend`.)
"""

import asyncio
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from trackboard._version import __version__
from trackboard.server.notifications.notification import SendError
from trackboard.server.notifications.target_guard import TargetRefused, check_url_shape

USER_AGENT = f"Trackboard/{__version__}"
# An answer's body is read up to this, so that its connection serves the next send (one
# left unread is closed): no new connection, address check and TLS handshake per send. A
# longer body is dropped with its connection.
MAX_ANSWER_BYTES = 64 * 1024
# Answers that say "not now" rather than "never".
_RETRYABLE_STATUSES = frozenset({408, 429})


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None
    when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def status_error(response: httpx.Response, host: str) -> SendError | None:
    """None for a 2xx answer from `host`; otherwise the `SendError` it amounts to."""
    status = response.status_code
    answered = f"{host} answered HTTP {status}"
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return SendError(f"{answered}: redirects are not followed", retryable=False)
    if status >= 500 or status in _RETRYABLE_STATUSES:
        retry_after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        return SendError(answered, retryable=True, retry_after_s=retry_after)
    return SendError(answered, retryable=False)


class JsonPoster:
    """Sends JSON bodies over one guarded client (see `guarded_transport.guarded_client`)."""

    def __init__(self, client: httpx.AsyncClient, *, allow_http: bool, timeout_s: float) -> None:
        self._client = client
        self._allow_http = allow_http
        self._timeout_s = timeout_s

    async def post(self, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """POST `body` to `url`; return when the target answered 2xx, else raise `SendError`.

        Messages name the host only: a Slack URL's path is its secret."""
        try:
            # Checked again at send time: the settings may be stricter than at creation.
            host = check_url_shape(url, allow_http=self._allow_http).host
        except TargetRefused as exc:
            raise SendError(str(exc), retryable=False) from None
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        try:
            # The client's timeout bounds each phase; this bounds the whole send.
            async with (
                asyncio.timeout(self._timeout_s),
                self._client.stream("POST", url, content=body, headers=all_headers) as response,
            ):
                error = status_error(response, host)
                # Nothing in the body changes the outcome; it is read to keep the connection.
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
        except TargetRefused as exc:
            raise SendError(str(exc), retryable=False) from None
        except (TimeoutError, httpx.TimeoutException):
            raise SendError(
                f"{host} did not answer within {self._timeout_s:g} s", retryable=True
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            raise SendError(f"cannot send to {host}: {exc}", retryable=False) from None
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            raise SendError(f"connection to {host} failed: {detail}", retryable=True) from None
        if error is not None:
            raise error
