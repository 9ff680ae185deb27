"""An import records the events of the changes it makes, like any other client of the API."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.live_server import serving
from tests.mlflow_compat.servers import require_mlflow
from trackboard.importer.mlflow_store import MlflowStoreSource
from trackboard.importer.target import TrackboardTarget
from trackboard.importer.transfer import import_from_mlflow
from trackboard.server.events import Event

PREFIX = "imported"


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_mlflow()
    folder = tmp_path_factory.mktemp("mlruns-source")
    from tests.importer.write_mlflow_data import write_runs

    write_runs((folder / "mlruns").as_uri(), PREFIX, files=folder)
    return folder / "mlruns"


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The test's app on a real port (the importer is a synchronous HTTP client)."""
    async with serving(app) as url:
        yield url


def do_import(mlruns: Path, url: str) -> None:
    with TrackboardTarget(url) as target, MlflowStoreSource(str(mlruns)) as source:
        import_from_mlflow(source, target, experiment_name=f"{PREFIX}-a")


async def test_an_import_records_experiment_run_and_status_events(
    app: FastAPI, served: str, mlruns: Path
) -> None:
    heard: list[Event] = []

    async def note(events: Sequence[Event]) -> None:
        heard.extend(events)

    app.state.database.events.subscribe("test", note)
    await asyncio.to_thread(do_import, mlruns, served)

    assert [e.type for e in heard if e.type.startswith("experiment.")] == ["experiment.created"]
    created = [e for e in heard if e.type == "run.created"]
    assert sorted(e.data["run"]["name"] for e in created) == ["a-0", "a-1"]
    assert all(e.data["run"]["params"]["optimizer"] == "adam" for e in created)
    ends = sorted(
        (e.data["run"]["name"], e.type) for e in heard if e.type in ("run.finished", "run.failed")
    )
    assert ends == [("a-0", "run.finished"), ("a-1", "run.failed")]
    # Importing again changes nothing, so records nothing.
    heard.clear()
    await asyncio.to_thread(do_import, mlruns, served)
    assert [e.type for e in heard] == []
