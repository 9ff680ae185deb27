"""An import records the events of the changes it makes, like any other client of the API."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from tests.importer.test_import_mlflow import write_mlflow_data
from tests.live_server import free_port
from tests.mlflow_compat.servers import require_mlflow
from trackboard.importer.mlruns_folder import MlrunsSource
from trackboard.importer.target import TrackboardTarget
from trackboard.importer.transfer import import_from_mlflow
from trackboard.server.events import Event

PREFIX = "imported"


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_mlflow()
    folder = tmp_path_factory.mktemp("mlruns-source")
    write_mlflow_data((folder / "mlruns").as_uri(), folder, PREFIX)
    return folder / "mlruns"


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The test's app on a real port (the importer is a synchronous HTTP client)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def do_import(mlruns: Path, url: str) -> None:
    with TrackboardTarget(url) as target:
        import_from_mlflow(MlrunsSource(str(mlruns)), target, experiment_name=f"{PREFIX}-a")


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
