"""Code blocks of README.md, read from the file so that tests run what the README says: the
quickstart as a script against a server, and shell blocks in bash with the README's
addresses swapped for the test's own (ports, database, vhost)."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
QUICKSTART_HEADING = "## Log from your training code"
MLFLOW_HEADING = "## Use it from MLflow"
DISTRIBUTED_HEADING = "## Run it distributed: PostgreSQL, Redis, RabbitMQ"
# Where `python`, `trackboard` and `mlflow` are, as after `source .venv/bin/activate`.
VENV_BIN = Path(sys.executable).parent


def block_under(heading: str, languages: str) -> str:
    """The first block in one of `languages` (a regex alternation) after `heading`."""
    text = README.read_text()
    section = text[text.index(heading) :]
    block = re.search(rf"```(?:{languages})\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"README.md has no {languages} block under {heading!r}"
    return block.group(1)


def python_block_under(heading: str) -> str:
    """The first ```python block after `heading` in README.md."""
    return block_under(heading, "python")


def shell_block_under(heading: str) -> str:
    """The first ```sh or ```bash block after `heading` in README.md."""
    return block_under(heading, "sh|bash")


def localized(block: str, replacements: Mapping[str, str]) -> str:
    """`block` with each README address replaced by the test's; every one must be there, so
    a README that changes an address fails here instead of running against the real one."""
    for readme_text, test_text in replacements.items():
        assert readme_text in block, f"the README block no longer says {readme_text!r}"
        block = block.replace(readme_text, test_text)
    return block


def quickstart_code() -> str:
    return python_block_under(QUICKSTART_HEADING)


def readme_environment(home: Path, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """This machine's environment without its TRACKBOARD_* settings, with the venv's commands
    first on PATH (as the README says to activate it), data under `home`, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
    env.update({"TRACKBOARD_HOME": str(home), "PATH": f"{VENV_BIN}:{env.get('PATH', '')}"})
    env.update(settings or {})
    return env


def client_environment(url: str, home: Path) -> dict[str, str]:
    """This machine's environment without its TRACKBOARD_* settings, pointed at `url`."""
    return readme_environment(home, {"TRACKBOARD_URL": url})


class ShellSession:
    """A README shell block run by bash in a session of its own, so that the servers it
    starts in the background (`&`) are stopped with it, and only they."""

    def __init__(self, script: str, cwd: Path, env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:  # bash and its children keep their own descriptors
            self.process = subprocess.Popen(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=cwd,
                env=dict(env),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait(self, timeout_s: float) -> None:
        """Waits for the block's last line; fails with its output when a line failed."""
        returncode = self.process.wait(timeout_s)
        assert returncode == 0, f"the README block failed:\n{self.log.read_text()}"

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM to everything the block started, SIGKILL to what outlives `timeout_s`."""
        session = self.process.pid
        with suppress(ProcessLookupError):
            os.killpg(session, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while live_members(session) and time.monotonic() < deadline:
            self.process.poll()  # reaps bash once it is done
            time.sleep(0.1)
        if live_members(session):
            with suppress(ProcessLookupError):
                os.killpg(session, signal.SIGKILL)
        self.process.wait(5)


def live_members(group: int) -> list[int]:
    """The processes of process group `group` that have not exited (zombies left out: who
    reaps a background child depends on the machine's init)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def run_quickstart(url: str, home: Path) -> list[str]:
    """Runs the README's quickstart as a script against `url` and returns its output lines.
    Fails on an error, on output other than the README's, or on any warning of the client
    (points left unsent, or sent but not yet readable)."""
    code = quickstart_code()
    assert "trackboard.Api().history(run.id" in code
    script = subprocess.run(
        [sys.executable, "-c", code],
        env=client_environment(url, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert script.returncode == 0, script.stderr
    assert "trackboard:" not in script.stderr, script.stderr
    lines = script.stdout.splitlines()
    assert lines[0].startswith(f"dashboard: {url}/runs/"), script.stdout
    assert re.fullmatch(r"100 points, last loss 0\.0\d+", lines[1]), script.stdout
    return lines
