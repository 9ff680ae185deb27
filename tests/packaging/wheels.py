"""Clean virtual environments for the packaging tests, filled with uv (offline-friendly: uv's
cache serves the pinned versions of the locks)."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
SERVER_LOCK = ROOT / "requirements" / "server.lock"
STATIC_INDEX = ROOT / "src/trackboard/server/dashboard/static/index.html"


def missing(reason: str) -> None:
    """Under CI=true a missing prerequisite fails the test; elsewhere it skips, saying why."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def install(env_dir: Path, *requirements: str) -> Path:
    """A fresh venv at `env_dir` holding `requirements` (and what they pull); its python."""
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    installed = subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), *requirements],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    return python


def isolated_environment(**settings: str) -> dict[str, str]:
    """This machine's environment without TRACKBOARD_* settings or a PYTHONPATH that would
    let the source tree stand in for the installed package, plus `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRACKBOARD_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(settings)
    return env
