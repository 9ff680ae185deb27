"""Run a real `trackboard server` process on a free loopback port for tests that need one."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server at {url} did not become healthy in {timeout_s} s")


@contextmanager
def live_server(
    home: Path,
    extra_env: dict[str, str] | None = None,
    bind: str = "127.0.0.1",
    command: Sequence[str] = (sys.executable, "-m", "trackboard.cli.main"),
    base_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Start the server (`command server`, by default this interpreter's) with its data under
    `home`, bound to `bind`, in `base_env` (default: this process's environment) plus
    `extra_env`; yield its loopback base URL; stop it afterwards."""
    port = free_port()
    base = os.environ if base_env is None else base_env
    env = {**base, "TRACKBOARD_HOME": str(home), **(extra_env or {})}
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "server", "--host", bind, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """A test's app (lifespan already entered) on a real loopback port in this event loop,
    for synchronous HTTP clients run in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
