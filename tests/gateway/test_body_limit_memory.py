"""Against a real server process: a refused body is never read whole, so the server's
memory does not grow with its size."""

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil  # type: ignore[import-untyped]

from tests.live_server import live_server

MiB = 1024 * 1024


@contextmanager
def served(home: Path) -> Iterator[tuple[str, psutil.Process]]:
    with live_server(home) as url:
        port = str(urlsplit(url).port)
        (process,) = [
            child for child in psutil.Process().children(recursive=True) if port in child.cmdline()
        ]
        yield url, process


def send_request(url: str, head: list[str], body_bytes: int) -> bytes:
    """Send a login request with `head` headers, then up to `body_bytes` of body in chunked
    1 MiB pieces, stopping as soon as the server answers; return the answer's first bytes.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        lines = ["POST /api/v1/auth/login HTTP/1.1", f"Host: {parts.netloc}", *head]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunk = f"{MiB:x}\r\n".encode() + b"x" * MiB + b"\r\n"
        sent = 0
        stopped = False
        while sent < body_bytes and not stopped:
            stopped = bool(select.select([sock], [], [], 0)[0])  # answered already
            if not stopped:
                try:
                    sock.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    stopped = True
            sent += MiB
        if body_bytes and not stopped:
            sock.sendall(b"0\r\n\r\n")  # the whole body went: end it
        try:
            return sock.recv(64)
        except TimeoutError:
            return b"(no answer)"


def test_a_200_mb_body_to_the_login_route_is_refused_without_growing_memory(
    tmp_path: Path,
) -> None:
    with served(tmp_path / "home") as (url, process):
        warm_up = httpx.post(f"{url}/api/v1/auth/login", json={"username": "a", "password": "b"})
        assert warm_up.status_code in (401, 404), warm_up.text
        before = process.memory_info().rss
        chunked = send_request(
            url,
            ["Content-Type: application/json", "Transfer-Encoding: chunked"],
            200 * MiB,
        )
        declared = send_request(
            url, ["Content-Type: application/json", f"Content-Length: {300 * MiB}"], 0
        )
        grown = process.memory_info().rss - before
        started = time.monotonic()
        health = httpx.get(f"{url}/healthz")
        elapsed = time.monotonic() - started
    assert grown < 16 * MiB, f"the server grew by {grown / MiB:.0f} MiB"
    assert chunked.startswith(b"HTTP/1.1 413"), chunked
    assert declared.startswith(b"HTTP/1.1 413"), declared
    assert health.status_code == 200
    assert elapsed < 1.0
