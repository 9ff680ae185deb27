"""One real `trackboard server` (embedded SQLite) for the integration tests, clients pointed
at it through the environment, and a reader that waits for what a run logged."""

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import trackboard
from tests.live_server import live_server

# Keras reads its backend when first imported; TensorFlow is not installed here.
os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("integrations-server")) as url:
        yield url


@pytest.fixture(autouse=True)
def client_env(server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs the integrations start go to the test server, spool under the test's folder."""
    for name in list(os.environ):
        if name.startswith("TRACKBOARD_"):
            monkeypatch.delenv(name)
    home = tmp_path / "client-home"
    monkeypatch.setenv("TRACKBOARD_URL", server_url)
    monkeypatch.setenv("TRACKBOARD_HOME", str(home))
    monkeypatch.setenv("TRACKBOARD_FLUSH_INTERVAL", "0.1")
    return home


def finished_run(server_url: str, run_id: str, timeout: float = 30.0) -> trackboard.RunInfo:
    """The run once it has a final status (integrations end runs from callbacks)."""
    with trackboard.Api(server_url) as api:
        deadline = time.monotonic() + timeout
        while True:
            run = api.run(run_id)
            if run.status != "RUNNING" or time.monotonic() > deadline:
                return run
            time.sleep(0.1)


def experiment_runs(server_url: str, experiment: str) -> list[trackboard.RunInfo]:
    with trackboard.Api(server_url) as api:
        return list(api.runs(experiment))


def history_steps(server_url: str, run_id: str, key: str) -> list[int]:
    with trackboard.Api(server_url) as api:
        return api.history(run_id, key).steps


def artifact_paths(server_url: str, run_id: str, timeout: float = 30.0) -> set[str]:
    """The run's artifact files, once uploads have stopped adding any (they go in the
    background, after the run's points)."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while True:
        response = httpx.get(
            f"{server_url}/api/v1/runs/{run_id}/artifacts", params={"recursive": "true"}
        )
        response.raise_for_status()
        found = {e["path"] for e in response.json()["entries"] if not e["is_dir"]}
        if (found and found == seen) or time.monotonic() > deadline:
            return found
        seen = found
        time.sleep(0.3)


def crash_uncaught(train: Callable[[], object]) -> BaseException:
    """Runs `train`, which must raise, and hands its exception to `sys.excepthook` as the
    interpreter does with one nothing catches (the test itself catches it afterwards)."""
    try:
        train()
    except BaseException as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return exc
    raise AssertionError("training did not crash")
