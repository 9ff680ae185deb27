"""A real PostgreSQL primary and streaming standby of the tests' own, in a temporary
directory on free loopback ports, made with the machine's PostgreSQL binaries (initdb,
pg_basebackup -R). The machine's own server is not touched.

PostgreSQL refuses to run as root, so under root the clusters belong to `postgres`.
"""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live_server import free_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class StreamingPair:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tb-replication-"))
        self.primary_dir = self.root / "primary"
        self.standby_dir = self.root / "standby"
        self.primary_port = free_port()
        self.standby_port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _configure(self, data_dir: Path, port: int, extra: str = "") -> None:
        settings = (
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\nfsync = off\n"
            "max_wal_senders = 4\nwal_level = replica\nhot_standby = on\n" + extra
        )
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings)

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.primary_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self._configure(self.primary_dir, self.primary_port)
        self._run(
            "pg_ctl",
            "-D",
            str(self.primary_dir),
            "-l",
            str(self.root / "primary.log"),
            "-w",
            "start",
        )
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(self.standby_dir),
            "-R",
            "-X",
            "stream",
        )
        self._configure(self.standby_dir, self.standby_port)
        self.start_standby()

    def set_standby_apply_delay(self, delay: str) -> None:
        """Hold each commit back on the standby this long (`recovery_min_apply_delay`)."""
        self._configure(
            self.standby_dir, self.standby_port, f"recovery_min_apply_delay = '{delay}'\n"
        )
        self._run("pg_ctl", "-D", str(self.standby_dir), "reload")

    def start_standby(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.standby_dir),
            "-l",
            str(self.root / "standby.log"),
            "-w",
            "start",
        )

    def stop_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby_dir), "-m", "immediate", "-w", "stop")

    def close(self) -> None:
        for data_dir in (self.standby_dir, self.primary_dir):
            if (data_dir / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    self._run("pg_ctl", "-D", str(data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_streaming_pair() -> StreamingPair:
    """A running pair, or (outside CI) a skip when PostgreSQL's binaries are missing."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's server binaries are missing (CI=true: no skipping)")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_basebackup) are not installed")
    pair = StreamingPair(bin_dir)
    try:
        pair.start()
    except BaseException:
        pair.close()
        raise
    return pair
