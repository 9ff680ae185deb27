"""A real `trackboard server` subprocess (embedded SQLite in a temp TRACKBOARD_HOME) that a
test can stop and restart, and a loopback HTTP proxy in front of it that can answer 503 or
429 instead, or forward a request and then lose the answer."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.client.ports import unused_port

TRACKBOARD = Path(sys.executable).with_name("trackboard")


class LiveServer:
    def __init__(
        self, home: Path, port: int | None = None, extra_env: dict[str, str] | None = None
    ) -> None:
        self.home = home
        self.extra_env = extra_env or {}
        self.port = port or unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TRACKBOARD_HOME": str(self.home), **self.extra_env}
        env.pop("TRACKBOARD_DATABASE_URL", None)
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(TRACKBOARD), "server", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"trackboard server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"trackboard server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        self._process = None


class FaultProxy:
    """Forwards to `upstream` while `mode` is "pass"; otherwise each request is answered
    with `mode` ("503", "429") or, for "lose", forwarded and then answered 503."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.retry_after: str | None = "1"
        self.faulted = 0
        self._client = httpx.Client(base_url=upstream, timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.forward(self, body)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        mode = self.mode
        if mode in ("503", "429"):
            self.faulted += 1
            payload = b'{"error":{"code":"TEMPORARILY_UNAVAILABLE","message":"injected"}}'
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            self._answer(handler, int(mode), payload, headers)
            return
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")
        }
        response = self._client.request(
            handler.command, handler.path, content=body, headers=headers
        )
        if mode == "lose" and handler.command != "GET":
            self.faulted += 1
            self._answer(handler, 503, b'{"error":{"code":"X","message":"answer lost"}}', {})
            return
        self._answer(handler, response.status_code, response.content, {})

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
