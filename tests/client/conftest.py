"""Fixtures of the client's unit tests: a fake server behind httpx.MockTransport, settings
with a private TRACKBOARD_HOME and short intervals, and runs that are always finished."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.fake_server import FakeServer
from trackboard.client.run import Run, start_run
from trackboard.client.settings import ClientSettings


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def settings(tmp_path: Path) -> ClientSettings:
    return ClientSettings(
        url="http://trackboard.test",
        home=tmp_path / "home",
        flush_interval=0.05,
        init_timeout=0.3,
        finish_timeout=5.0,
        request_timeout=2.0,
        retry_base=0.01,
        retry_cap=0.05,
    )


StartRun = Callable[..., Run]


@pytest.fixture
def start(fake: FakeServer, settings: ClientSettings) -> Iterator[StartRun]:
    """Starts runs against `fake`; any left unfinished are finished at teardown."""
    runs: list[Run] = []

    def _start(
        experiment: str = "exp", settings_changes: dict[str, Any] | None = None, **kwargs: Any
    ) -> Run:
        chosen = dataclasses.replace(settings, **(settings_changes or {}))
        run = start_run(chosen, experiment, http_transport=fake.transport(), **kwargs)
        runs.append(run)
        return run

    yield _start
    for run in runs:
        run.finish(timeout=1.0)
