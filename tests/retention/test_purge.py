"""The purge on both stores: old deleted runs and experiments go with every row and their
artifacts; live, undeleted and recently deleted ones stay; a second pass and a pass after an
interruption finish the job without touching anything else."""

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.retention.builders import (
    DAY_MS,
    database,
    delete_experiment,
    delete_run,
    full_run,
    new_experiment,
    now_ms,
    rows_of_run,
)
from trackboard.server.artifacts.store import ArtifactStore, LocalArtifactStore
from trackboard.server.models import Experiment, ExperimentTag
from trackboard.server.retention.purge import purge_deleted_experiments, purge_deleted_runs
from trackboard.server.retention.repository import Scope
from trackboard.server.retention.service import Pass, plan, run

GONE = {"runs": 0, "params": 0, "tags": 0, "chunks": 0, "summaries": 0, "batches": 0}
# A built run's rows: its param, its tag and the run name's tag, one chunk, summary, batch id.
WHOLE = {"runs": 1, "params": 1, "tags": 2, "chunks": 1, "summaries": 1, "batches": 1}


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    # The app's own artifact folder (settings.home is tmp_path).
    return LocalArtifactStore(tmp_path / "artifacts")


def has_artifacts(store: LocalArtifactStore, experiment_id: int, run_id: str) -> bool:
    return (store.root / str(experiment_id) / run_id / "artifacts" / "model.bin").is_file()


async def history(client: httpx.AsyncClient, run_id: str) -> list[float]:
    response = await client.get(f"/api/v1/runs/{run_id}/metrics/loss")
    assert response.status_code == 200, response.text
    return [point["value"] for point in response.json()["points"]]


async def test_old_deleted_runs_go_with_rows_and_artifacts_while_the_rest_stays(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    experiment = await new_experiment(client)
    live = await full_run(client, experiment, status="RUNNING")
    finished = await full_run(client, experiment)
    recent = await full_run(client, experiment)
    old = await full_run(client, experiment)
    await delete_run(client, app, recent, days_ago=2)
    await delete_run(client, app, old, days_ago=40)
    kept_rows = await rows_of_run(app, finished)
    assert kept_rows == WHOLE

    work = Pass(Scope(), purge_before_ms=now_ms() - 30 * DAY_MS)
    planned = await plan(database(app), work)
    assert (planned.runs, planned.points, planned.first_run_ids) == (1, 100, (old,))

    report = await run(database(app), store, work)
    assert (report.purge.runs, report.purge.points, report.purge.artifact_folders) == (1, 100, 1)
    assert await rows_of_run(app, old) == GONE
    assert not (store.root / str(experiment) / old).exists()
    for kept in (live, finished, recent):
        assert await rows_of_run(app, kept) == kept_rows
        assert has_artifacts(store, experiment, kept)
        assert len(await history(client, kept)) == 100
    assert (await client.get(f"/api/v1/runs/{old}")).status_code == 404

    again = await run(database(app), store, work)
    assert (again.purge.runs, again.purge.experiments, again.purge.artifact_folders) == (0, 0, 0)
    for kept in (live, finished, recent):
        assert await rows_of_run(app, kept) == kept_rows


async def experiment_rows(app: FastAPI, experiment_id: int) -> tuple[int, int]:
    async with database(app).transaction(write=False) as session:
        experiments = await session.scalar(
            select(func.count()).select_from(Experiment).where(Experiment.id == experiment_id)
        )
        tags = await session.scalar(
            select(func.count())
            .select_from(ExperimentTag)
            .where(ExperimentTag.experiment_id == experiment_id)
        )
    return int(experiments or 0), int(tags or 0)


async def test_an_old_deleted_experiment_goes_after_its_runs(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    doomed = await new_experiment(client, tags={"owner": "x"})
    recent = await new_experiment(client, tags={"owner": "y"})
    active = await new_experiment(client, tags={"owner": "z"})
    doomed_runs = [await full_run(client, doomed) for _ in range(2)]
    recent_run = await full_run(client, recent)
    active_run = await full_run(client, active)
    await delete_experiment(client, app, doomed, days_ago=40)
    await delete_experiment(client, app, recent, days_ago=1)

    work = Pass(Scope(), purge_before_ms=now_ms() - 30 * DAY_MS)
    assert (await plan(database(app), work)).experiments == 1
    report = await run(database(app), store, work)

    assert (report.purge.runs, report.purge.experiments) == (2, 1)
    assert await experiment_rows(app, doomed) == (0, 0)
    assert not (store.root / str(doomed)).exists()
    for run_id in doomed_runs:
        assert await rows_of_run(app, run_id) == GONE
    assert await experiment_rows(app, recent) == (1, 1)
    assert await experiment_rows(app, active) == (1, 1)
    assert (await rows_of_run(app, recent_run))["chunks"] == 1
    assert has_artifacts(store, active, active_run)
    assert has_artifacts(store, recent, recent_run)


async def test_the_newest_experiment_is_kept_until_a_newer_one_exists(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    # On SQLite a purged newest row would give its id to the next experiment.
    newest = await new_experiment(client)
    await delete_experiment(client, app, newest, days_ago=40)
    work = Pass(Scope(), purge_before_ms=now_ms() - 30 * DAY_MS)

    assert (await run(database(app), store, work)).purge.experiments == 0
    assert (await experiment_rows(app, newest))[0] == 1
    newer = await new_experiment(client)
    assert newer != newest
    assert (await run(database(app), store, work)).purge.experiments == 1
    assert await experiment_rows(app, newest) == (0, 0)


class FailingAfter:
    """A real store that fails its n-th delete, as a crash or a lost bucket would."""

    def __init__(self, store: ArtifactStore, deletes: int) -> None:
        self.store = store
        self.left = deletes

    async def delete(self, path: str) -> None:
        if self.left == 0:
            raise OSError("the artifact store went away")
        self.left -= 1
        await self.store.delete(path)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


async def test_an_interrupted_purge_leaves_runs_whole_or_gone_and_the_next_one_finishes(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    experiment = await new_experiment(client)
    runs = [await full_run(client, experiment) for _ in range(5)]
    for run_id in runs:
        await delete_run(client, app, run_id, days_ago=40)
    keeper = await full_run(client, experiment)
    cutoff = now_ms() - 30 * DAY_MS
    failing = FailingAfter(store, deletes=3)

    with pytest.raises(OSError, match="went away"):
        await purge_deleted_runs(database(app), failing, cutoff, batch=2)  # type: ignore[arg-type]

    states = [await rows_of_run(app, run_id) for run_id in runs]
    assert all(state in (GONE, WHOLE) for state in states)
    assert states.count(GONE) == 2  # the first batch of two committed; the second did not

    report = await purge_deleted_runs(database(app), store, cutoff, batch=2)
    assert report.runs == 3
    for run_id in runs:
        assert await rows_of_run(app, run_id) == GONE
        assert not (store.root / str(experiment) / run_id).exists()
    assert await rows_of_run(app, keeper) == WHOLE
    assert has_artifacts(store, experiment, keeper)
    assert (await purge_deleted_experiments(database(app), store, cutoff)).experiments == 0


async def test_named_runs_only_are_purged(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    experiment = await new_experiment(client)
    named, other = await full_run(client, experiment), await full_run(client, experiment)
    for run_id in (named, other):
        await delete_run(client, app, run_id, days_ago=0)
    report = await run(database(app), store, Pass(Scope(run_ids=[named]), purge_before_ms=now_ms()))
    assert report.purge.runs == 1
    assert await rows_of_run(app, named) == GONE
    assert (await rows_of_run(app, other))["runs"] == 1


async def test_a_purged_experiment_takes_its_logged_models_and_their_files(
    client: httpx.AsyncClient, app: FastAPI, store: LocalArtifactStore
) -> None:
    experiment = await new_experiment(client)
    created = await client.post(
        "/api/2.0/mlflow/logged-models", json={"experiment_id": str(experiment), "name": "m"}
    )
    assert created.status_code == 200, created.text
    model = created.json()["model"]["info"]
    model_id = model["model_id"]
    assert model["artifact_uri"] == f"mlflow-artifacts:/{experiment}/models/{model_id}/artifacts"
    files = store.root / str(experiment) / "models" / model_id / "artifacts"
    files.mkdir(parents=True)
    (files / "model.pkl").write_bytes(b"weights")
    await delete_experiment(client, app, experiment, days_ago=40)
    await new_experiment(client)  # the newest experiment is never purged

    report = await run(database(app), store, Pass(Scope(), purge_before_ms=now_ms() - DAY_MS))

    assert (report.purge.experiments, report.purge.artifact_folders) == (1, 1)
    assert (await client.get(f"/api/2.0/mlflow/logged-models/{model_id}")).status_code == 404
    assert not (store.root / str(experiment)).exists()
