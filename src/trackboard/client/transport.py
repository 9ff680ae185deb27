"""HTTP to the Trackboard API: auth header, JSON bodies, and sorting failures into
ones worth retrying (`TransientError`) and ones that never succeed (`RequestRejectedError`)."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path
from typing import Any

import httpx

from trackboard._version import __version__
from trackboard.client import codec
from trackboard.client.read_after import HEADER as READ_AFTER
from trackboard.client.read_after import PROCESS_POSITIONS, ReadPositions


class TrackboardError(Exception):
    """Something the Trackboard server or client could not do."""


class TransientError(TrackboardError):
    """The server was unreachable or asked us to come back later; retrying may succeed."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RequestRejectedError(TrackboardError):
    """A 4xx (other than 408/429): the same request will keep failing."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def is_auth_failure(self) -> bool:
        return self.status in (401, 403)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header, in its seconds or HTTP-date form."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _error_details(response: httpx.Response) -> tuple[str, str]:
    try:
        payload = response.json()
        error = payload["error"]
        return str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", response.text[:500]


class Transport:
    """One keep-alive connection pool to one server. Every request carries the furthest
    commit position this process was handed by the server (`read_after`)."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        http_transport: httpx.BaseTransport | None = None,
        positions: ReadPositions = PROCESS_POSITIONS,
    ) -> None:
        headers = {
            "User-Agent": f"trackboard-python/{__version__}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.url = url.rstrip("/")
        self._positions = positions
        self._client = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=http_transport,
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """The decoded JSON answer (None if empty); raises TransientError, RequestRejectedError."""
        content = None if body is None else codec.dumps(body)
        read_after = self._positions.header(self.url)
        try:
            response = self._client.request(
                method,
                path,
                content=content,
                params=params,
                headers={READ_AFTER: read_after} if read_after else None,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def upload(self, path: str, file: Path, timeout: float | None = None) -> Any:
        """PUTs the file's raw bytes to `path`, streamed from disk (an artifact upload); the
        answer and the errors are those of `request`."""
        read_after = self._positions.header(self.url)
        headers = {"Content-Type": "application/octet-stream"}
        if read_after:
            headers[READ_AFTER] = read_after
        try:
            with file.open("rb") as content:
                response = self._client.put(
                    path,
                    content=content,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> Any:
        status = response.status_code
        if status < 300:
            self._positions.note(self.url, response.headers.get(READ_AFTER))
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise TransientError(f"{status} with a body that is not JSON") from exc
        code, message = _error_details(response)
        if status in (408, 429) or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransientError(f"{status} {code}: {message}".strip(), retry_after)
        raise RequestRejectedError(status, code, message)

    def close(self) -> None:
        self._client.close()
