"""A cluster on loopback for the load-balancer tests: Debian's nginx running the shipped
`deploy/nginx/trackboard.conf` in front of N `trackboard server` processes."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.distributed.conftest import ChildProcess, WorkerProcess
from tests.live_server import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONF = ROOT / "deploy" / "nginx" / "trackboard.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        message = "Debian's nginx is not installed (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


class ApiProcess(ChildProcess):
    """`trackboard server` on a fixed port, to kill, stop and start again."""

    def __init__(self, port: int, env: dict[str, str], log_dir: Path) -> None:
        self.port = port
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with (self.log_dir / f"api-{self.port}-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "trackboard.cli.main", "server", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_healthy(self.url, self.process)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM: uvicorn finishes the requests it holds, then exits."""
        super().stop(timeout_s)


class Nginx:
    """nginx in the foreground with the shipped site file, rendered for these ports."""

    def __init__(self, prefix: Path, servers: list[ApiProcess]) -> None:
        self.prefix = prefix
        self.servers = servers
        self.port = free_port()
        self.down: set[int] = set()
        self.process: subprocess.Popen[bytes] | None = None
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        (prefix / "cache").mkdir(exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def render(self) -> None:
        site = SHIPPED_CONF.read_text()
        lines = "\n".join(
            f"    server 127.0.0.1:{server.port} max_fails=3 fail_timeout=10s"
            f"{' down' if server.port in self.down else ''};"
            for server in self.servers
        )
        site, count = re.subn(r"(    server 127\.0\.0\.1:500\d [^;]*;\n)+", lines + "\n", site)
        assert count == 1, "the shipped upstream block changed shape"
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("/var/cache/nginx/trackboard", str(self.prefix / "cache"))
        (self.prefix / "trackboard.conf").write_text(site)
        (self.prefix / "nginx.conf").write_text(
            f"""
user root;
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {self.prefix}/logs/access.log;
    client_body_temp_path {self.prefix}/body;
    proxy_temp_path {self.prefix}/proxy;
    include {self.prefix}/trackboard.conf;
}}
"""
        )

    def start(self) -> None:
        self.render()
        command = [nginx_binary(), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        with (self.prefix / "logs" / "stderr.log").open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.1)

    def set_down(self, port: int, down: bool) -> None:
        """Take an instance out of (or back into) the upstream: rewrite and reload, the way
        an operator drains one before restarting it."""
        (self.down.add if down else self.down.discard)(port)
        self.render()
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(1.0)  # old workers finish their requests; new ones use the new upstream

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running(nginx: Nginx, helpers: Sequence[WorkerProcess]) -> Iterator[None]:
    """Workers and notifiers (`helpers`) started first, then the servers, then nginx; all
    stopped in the reverse order, whatever happened."""
    try:
        for process in helpers:
            process.start()
        for server in nginx.servers:
            server.start()
        nginx.start()
        yield
    finally:
        nginx.stop()
        for server in nginx.servers:
            server.stop()
        for process in helpers:
            process.stop()
