"""Real servers for the MLflow tests: `mlflow server` and `trackboard server` as subprocesses.

Each binds loopback on a free port, keeps its data in its own temporary folder, and is
stopped (its whole process group) when the test session ends.
"""

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180.0


def require_mlflow() -> None:
    """Under CI=true a missing mlflow package fails the test; elsewhere it skips."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("the mlflow package is not installed (CI=true: nothing may be skipped)")
        pytest.skip("the mlflow package is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not answer in {START_TIMEOUT_S} s:\n{log.read_text()}")


_STARTED: set[subprocess.Popen[bytes]] = set()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    # The whole group: a server's workers may outlive its first process.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every group at once, then SIGKILL what is still there after 15 s."""
    for process in processes:
        _signal(process, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 15
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        for process in processes:
            _signal(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)  # reap it, so that no zombie is left behind
            _STARTED.discard(process)


@atexit.register
def _stop_leftovers() -> None:
    """Last resort when a teardown was cut short (e.g. by a timeout): kill what is left."""
    for process in list(_STARTED):
        _signal(process, signal.SIGKILL)


class _Process:
    """A server process started now; `ready()` waits until its health check answers."""

    def __init__(self, command: list[str], env: dict[str, str], health: str, data_dir: Path):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.health = health
        self.log = data_dir / "server.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [part.replace("{port}", str(port)) for part in command],
                env=env,
                cwd=data_dir,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: its workers stop with it
            )
        _STARTED.add(self.process)

    def ready(self) -> None:
        _wait_until_up(self.process, self.url + self.health, self.log)

    def stop(self) -> None:
        _stop_all([self.process])


@dataclass(frozen=True)
class ServerSpec:
    command: list[str]
    env: dict[str, str]
    health: str
    data_dir: Path


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKBOARD_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def mlflow_spec(data_dir: Path) -> ServerSpec:
    """MLflow's reference server: SQLite backend, proxied artifacts, one worker."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env()
    env["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{data_dir / 'mlflow.db'}",
        "--artifacts-destination",
        str(data_dir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "1",
    ]
    return ServerSpec(command, env, "/health", data_dir)


def trackboard_spec(data_dir: Path) -> ServerSpec:
    """`trackboard server` in embedded mode with its data under `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _base_env()
    env["TRACKBOARD_HOME"] = str(data_dir)
    env["TRACKBOARD_LOG_LEVEL"] = "WARNING"
    command = [str(BIN / "trackboard"), "server", "--host", "127.0.0.1", "--port", "{port}"]
    return ServerSpec(command, env, "/healthz", data_dir)


@contextmanager
def running(*specs: ServerSpec) -> Iterator[list[Server]]:
    """Start every server at once (MLflow's takes long to import), wait for all, stop all."""
    processes: list[_Process] = []
    try:
        for spec in specs:
            processes.append(_Process(spec.command, spec.env, spec.health, spec.data_dir))
        for process in processes:
            process.ready()
        yield [Server(p.url, spec.data_dir) for p, spec in zip(processes, specs, strict=True)]
    finally:
        _stop_all([process.process for process in processes])


class _SharedPair:
    """One MLflow + Trackboard pair for all test folders of a session, reference-counted."""

    def __init__(self) -> None:
        self.users = 0
        self.context: Any = None
        self.servers: tuple[Server, Server] | None = None

    @contextmanager
    def use(self, data_dir: Path) -> Iterator[tuple[Server, Server]]:
        if self.users == 0:
            self.context = running(
                mlflow_spec(data_dir / "mlflow"), trackboard_spec(data_dir / "tb")
            )
            started = self.context.__enter__()
            self.servers = (started[0], started[1])
        self.users += 1
        try:
            assert self.servers is not None
            yield self.servers
        finally:
            self.users -= 1
            if self.users == 0:
                self.context.__exit__(None, None, None)
                self.servers = None


shared_pair = _SharedPair()
