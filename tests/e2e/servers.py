"""Real `trackboard server` processes for the browser tests, each on a free port."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
TRACKBOARD = Path(sys.executable).with_name("trackboard")
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment(home: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    """This machine's environment without its TRACKBOARD_* settings, plus the test's."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
    clean.update(
        {
            "TRACKBOARD_HOME": str(home),
            "TRACKBOARD_LOG_LEVEL": "WARNING",
            "TRACKBOARD_LOG_JSON": "false",
        }
    )
    clean.update(env or {})
    return clean


class Process:
    """One `trackboard` subcommand; `stop()` ends exactly the process it started."""

    def __init__(
        self, args: list[str], home: Path, log_path: Path, env: Mapping[str, str] | None
    ) -> None:
        self.home = home
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(TRACKBOARD), *args],
            env=environment(home, env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


class WorkerProcess(Process):
    def __init__(self, home: Path, log_path: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(["worker"], home, log_path, env)


class ServerProcess(Process):
    """`trackboard server` on a free port, returned once /healthz answers."""

    def __init__(self, home: Path, log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        args = ["server", "--host", "127.0.0.1", "--port", str(self.port)]
        super().__init__(args, home, log_path, env)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log_path}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready in {STARTUP_TIMEOUT_S} s: see {self.log_path}")
