"""Purging for good: runs deleted before a cutoff, with their rows and artifacts, then the
experiments deleted before it that have no runs left.

Batched and safe to interrupt: each batch first deletes the runs' artifact folders, then
their rows in one transaction that checks again that each run is still deleted and old
enough. A pass cut short leaves every run whole or gone (a run whose folder went but whose
rows did not is purged by the next pass, which finds the folder gone and goes on).
Purges record no domain events: the runs and experiments were announced deleted
(`run.deleted`, `experiment.deleted`) when they were deleted, and nothing that live views,
notification rules or the cached active lists show changes with the purge.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from trackboard.server.artifacts.locations import (
    proxied_store_path,
    run_artifact_folder,
    run_artifact_uri,
)
from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.backends.database import Database
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.models import Experiment, Run
from trackboard.server.retention import repository
from trackboard.server.retention.repository import Scope

log = logging.getLogger(__name__)

RUN_BATCH = 200
EXPERIMENT_BATCH = 50

Progress = Callable[[int], None]


@dataclass
class PurgeReport:
    runs: int = 0
    points: int = 0
    experiments: int = 0
    artifact_folders: int = 0
    # Runs whose artifacts are outside Trackboard's store (an s3:// or file: URI of
    # their own): their rows went, their files are left where they are.
    foreign_artifacts: int = 0


async def _delete_folder(store: ArtifactStore, path: str) -> bool:
    """Delete a folder of the store; False when there was none."""
    try:
        await store.delete(path)
    except NotFound:
        return False
    return True


def _run_folder(run: Run, experiment_location: str | None) -> str | None:
    """The run's own folder in our store (`<experiment>/<run>`), or None when its
    artifacts live elsewhere."""
    experiment = Experiment(id=run.experiment_id, artifact_location=experiment_location)
    try:
        folder = run_artifact_folder(run_artifact_uri(run, experiment), run.experiment_id, run.id)
    except InvalidParameter:
        return None
    # `<experiment>/<run>/artifacts`: the whole `<experiment>/<run>` goes.
    return "/".join(folder.split("/")[:2])


async def purge_deleted_runs(
    database: Database,
    store: ArtifactStore,
    cutoff_ms: int,
    scope: Scope = Scope(),
    *,
    batch: int = RUN_BATCH,
    on_progress: Progress | None = None,
) -> PurgeReport:
    """Remove runs deleted before `cutoff_ms` (epoch ms) within `scope`, batch by batch."""
    report = PurgeReport()
    while True:
        async with database.transaction(write=False) as session:
            rows = await repository.select_purgeable_runs(session, cutoff_ms, scope, batch)
        if not rows:
            return report
        for run, experiment_location in rows:
            folder = _run_folder(run, experiment_location)
            if folder is None:
                report.foreign_artifacts += 1
            elif await _delete_folder(store, folder):
                report.artifact_folders += 1
        ids = [row[0].id for row in rows]
        async with database.transaction() as session:
            points = await repository.count_points_of_purgeable_runs(session, ids, cutoff_ms)
            deleted = await repository.delete_purgeable_runs(session, ids, cutoff_ms)
        report.runs += deleted
        report.points += points
        if deleted < len(ids):
            log.info("%d runs were restored while being purged; kept", len(ids) - deleted)
        if on_progress is not None:
            on_progress(len(ids))


def _model_folder(experiment_id: int, model_id: str, location: str) -> str | None:
    """`<experiment>/models/<model>` when the model's files are there in our store."""
    path = proxied_store_path(location)
    parts = path.split("/") if path else []
    if parts[:3] != [str(experiment_id), "models", model_id]:
        return None
    return "/".join(parts[:3])


async def purge_deleted_experiments(
    database: Database,
    store: ArtifactStore,
    cutoff_ms: int,
    scope: Scope = Scope(),
    *,
    batch: int = EXPERIMENT_BATCH,
    on_progress: Progress | None = None,
) -> PurgeReport:
    """Remove experiments deleted before `cutoff_ms` that have no runs left (purge their
    runs first), with their tags, logged models and those models' files."""
    report = PurgeReport()
    # Experiments that gained a run or were restored while being purged: not selected again.
    skipped: set[int] = set()
    while True:
        remaining = Scope(scope.experiment_ids, [*scope.except_experiment_ids, *skipped])
        async with database.transaction(write=False) as session:
            rows = await repository.select_purgeable_experiments(
                session, cutoff_ms, remaining, batch
            )
            ids = [row[0] for row in rows]
            models = await repository.select_logged_model_locations(session, ids) if ids else []
        if not rows:
            return report
        for model_id, experiment_id, location in models:
            folder = _model_folder(experiment_id, model_id, location)
            if folder is not None and await _delete_folder(store, folder):
                report.artifact_folders += 1
        for experiment_id, experiment_location in rows:
            await _delete_empty_default_folder(store, experiment_id, experiment_location)
        async with database.transaction() as session:
            deleted = await repository.delete_purgeable_experiments(session, ids, cutoff_ms)
        report.experiments += deleted
        if deleted < len(ids):
            skipped.update(ids)
        if on_progress is not None:
            on_progress(len(ids))


async def _delete_empty_default_folder(
    store: ArtifactStore, experiment_id: int, location: str | None
) -> None:
    """The experiment's own folder once it holds no file; one with files (another
    experiment may have chosen it as its location) stays."""
    if location is not None and location != f"mlflow-artifacts:/{experiment_id}":
        return
    folder = str(experiment_id)
    if not await _holds_files(store, folder):
        await _delete_folder(store, folder)


async def _holds_files(store: ArtifactStore, folder: str) -> bool:
    """Whether any file lies under `folder` (empty folders left by the purge do not count)."""
    for entry in await store.list(folder):
        if not entry.is_dir or await _holds_files(store, f"{folder}/{entry.path}"):
            return True
    return False
