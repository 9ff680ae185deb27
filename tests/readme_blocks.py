"""Code blocks of README.md, read from the file so that tests run what the README says, and
the quickstart run as a script against a server."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
QUICKSTART_HEADING = "## Log from your training code"


def python_block_under(heading: str) -> str:
    """The first ```python block after `heading` in README.md."""
    text = README.read_text()
    section = text[text.index(heading) :]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"README.md has no Python block under {heading!r}"
    return block.group(1)


def quickstart_code() -> str:
    return python_block_under(QUICKSTART_HEADING)


def client_environment(url: str, home: Path) -> dict[str, str]:
    """This machine's environment without its TRACKBOARD_* settings, pointed at `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKBOARD_")}
    env.update({"TRACKBOARD_URL": url, "TRACKBOARD_HOME": str(home)})
    return env


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
