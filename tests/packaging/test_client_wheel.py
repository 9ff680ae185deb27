"""A client-only install (the wheel without extras) has a working `trackboard sync`: a run
logged offline in a clean virtual environment is uploaded to a real server."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server
from tests.packaging.wheels import UV, install


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv holding only the built wheel and its light dependencies."""
    env_dir = tmp_path_factory.mktemp("client-venv")
    install(env_dir, str(wheel))
    return env_dir


def test_the_client_wheel_pulls_no_server_dependency(client_venv: Path) -> None:
    installed = subprocess.run(
        [str(UV), "pip", "freeze", "--python", str(client_venv / "bin" / "python")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.lower()
    for heavy in ("sqlalchemy", "fastapi", "typer", "numpy", "uvicorn"):
        assert f"{heavy}==" not in installed, installed


def test_the_client_only_command_syncs_an_offline_run(client_venv: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TRACKBOARD_HOME": str(tmp_path / "client"),
        "TRACKBOARD_MODE": "offline",
        "PYTHONPATH": "",
    }
    python, command = client_venv / "bin" / "python", client_venv / "bin" / "trackboard"
    script = (
        "import trackboard\n"
        "run = trackboard.init('wheel-sync', name='offline-run')\n"
        "for step in range(100):\n"
        "    run.log({'loss': 1 / (step + 1)}, step=step)\n"
        "run.finish()\n"
        "print(run.id)\n"
    )
    logged = subprocess.run(
        [str(python), "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert logged.returncode == 0, logged.stderr
    run_id = logged.stdout.strip().splitlines()[-1]
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("trackboard "), version
    server_only = subprocess.run([str(command), "server"], capture_output=True, text=True)
    assert server_only.returncode == 2
    assert "trackboard[server]" in server_only.stderr
    with live_server(tmp_path / "server", {"TRACKBOARD_LOG_JSON": "false"}) as url:
        synced = subprocess.run(
            [str(command), "sync", "--url", url],
            env={**env, "TRACKBOARD_MODE": "online"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert synced.returncode == 0, synced.stderr
        assert "synced" in synced.stderr
        history = httpx.get(f"{url}/api/v1/runs/{run_id}/metrics/loss", timeout=10).json()
        run = httpx.get(f"{url}/api/v1/runs/{run_id}", timeout=10).json()
    assert run["status"] == "FINISHED"
    assert [point["step"] for point in history["points"]] == list(range(100))
