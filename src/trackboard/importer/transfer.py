"""Copy experiments and runs from a source into a Trackboard target, idempotently.

Re-running adds nothing twice: a run keeps its MLflow id (or a stable id derived from it)
and times, params and tags are set to the same values, metric points go in fixed-size
batches whose ids are derived from their content, skipping what the target already counts,
points MLflow linked to a logged model go in linked to the imported model unless the model
already has them (`linked_points`), a dataset input the run already has is not sent again,
an artifact file already there with the same size is not uploaded again, and an imported
logged model is found by its id (`model_transfer`).
"""

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from trackboard.importer.artifact_copy import FilesCopied, copy_files
from trackboard.importer.linked_points import Identity, LinkedPoint, links_there, plan_key
from trackboard.importer.model_transfer import (
    ImportedModel,
    ModelsCopied,
    ModelSource,
    ensure_models,
    finish_models,
    linked_by_run,
)
from trackboard.importer.records import (
    MetricSeries,
    SourceArtifact,
    SourceError,
    SourceExperiment,
    SourceRun,
)
from trackboard.importer.target import TrackboardTarget

BATCH_POINTS = 10_000
SOURCE_RUN_TAG = "trackboard.import.source_run_id"
_HEX_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class Source(Protocol):
    description: str

    def experiments(self, name: str | None = None) -> list[SourceExperiment]: ...

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]: ...

    def history(self, run: SourceRun, key: str) -> MetricSeries: ...

    def close(self) -> None: ...


@runtime_checkable
class ArtifactSource(Protocol):
    """A source that can also read runs' artifact files (optional for a `Source`)."""

    def artifacts(self, run: SourceRun) -> Iterator[SourceArtifact]: ...

    def download_artifact(self, run: SourceRun, path: str, folder: Path) -> Path: ...


@dataclass
class ImportSummary:
    experiments: int = 0
    runs: int = 0
    new_runs: int = 0
    points_sent: int = 0
    points_already_there: int = 0
    datasets_sent: int = 0
    datasets_already_there: int = 0
    artifacts_sent: int = 0
    artifact_bytes_sent: int = 0
    artifacts_already_there: int = 0
    models_sent: int = 0
    models_already_there: int = 0
    linked_points_sent: int = 0
    errors: list[str] = field(default_factory=list)  # what was not copied (a retry may)
    notes: list[str] = field(default_factory=list)  # what a retry does not change

    def add_files(self, copied: FilesCopied) -> None:
        self.artifacts_sent += copied.sent
        self.artifact_bytes_sent += copied.bytes_sent
        self.artifacts_already_there += copied.already_there


def target_run_id(source: str, run_id: str) -> str:
    """MLflow's usual 32-hex ids are kept; other ids map to a stable UUID of source and id."""
    if _HEX_RUN_ID.match(run_id):
        return run_id
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{source}#{run_id}").hex


def batch_id(run_id: str, series: MetricSeries, start: int, end: int) -> str:
    digest = hashlib.sha256(f"{run_id}\0{series.key}\0{start}\0{end}".encode())
    for column in (series.steps, series.timestamps, series.values):
        digest.update(repr(column[start:end]).encode())
    return "mlflow-import-" + digest.hexdigest()[:40]


def _slice(series: MetricSeries, start: int, end: int) -> MetricSeries:
    return MetricSeries(
        series.key, series.steps[start:end], series.timestamps[start:end], series.values[start:end]
    )


def _ignore(count: int) -> None:
    pass


def copy_series(
    target: TrackboardTarget,
    run_id: str,
    series: MetricSeries,
    already: int,
    on_points: Callable[[int], None] = _ignore,
) -> int:
    """Send the points after the first `already`, in batches on a fixed grid; returns sent.

    `on_points` hears the size of each batch once it is stored."""
    sent = 0
    for grid_start in range(0, len(series), BATCH_POINTS):
        grid_end = min(grid_start + BATCH_POINTS, len(series))
        start = max(grid_start, already)
        if start >= grid_end:
            continue
        target.log_points(
            run_id, _slice(series, start, grid_end), batch_id(run_id, series, start, grid_end)
        )
        sent += grid_end - start
        on_points(grid_end - start)
    return sent


@dataclass
class RunCopied:
    is_new: bool
    points_sent: int = 0
    points_already_there: int = 0
    linked_points_sent: int = 0  # of `points_sent`
    left_unlinked: int = 0  # model-linked points the target holds unlinked


def copy_run(
    source: Source,
    target: TrackboardTarget,
    experiment_id: int,
    run: SourceRun,
    on_points: Callable[[int], None] = _ignore,
    linked: Sequence[LinkedPoint] = (),
    links: set[tuple[str, str, str, Identity]] | None = None,
) -> RunCopied:
    """One run with its params, tags and histories; `linked` are its points MLflow linked
    to a model (with the target's model ids), `links` those the target already has."""
    run_id = target_run_id(source.description, run.id)
    tags = dict(run.tags)
    if run_id != run.id:
        tags[SOURCE_RUN_TAG] = run.id
    existing, is_new = target.ensure_run(
        experiment_id,
        run_id,
        name=run.name,
        user=run.user,
        start_time=run.start_time,
        tags=tags,
        params=run.params,
    )
    target.log_params(run_id, run.params)
    target.set_tags(run_id, tags)
    counts = {key: summary.get("count", 0) for key, summary in existing.get("metrics", {}).items()}
    by_key: dict[str, list[LinkedPoint]] = {}
    for point in linked:
        by_key.setdefault(point.metric.key, []).append(point)
    copied = RunCopied(is_new)
    for key in run.metric_keys:
        series = source.history(run, key)
        plan = plan_key(series, by_key.get(key, []), links or set(), int(counts.get(key, 0)))
        # The linked points first: the run's count then tells how much of the rest is there.
        if plan.linked:
            target.log_linked_points(run_id, plan.linked)
            on_points(len(plan.linked))
        sent = len(plan.linked) + copy_series(
            target, run_id, plan.unlinked, plan.unlinked_there, on_points
        )
        copied.points_sent += sent
        copied.points_already_there += len(series) - sent
        copied.linked_points_sent += len(plan.linked)
        copied.left_unlinked += plan.left_unlinked
    if run.status != "RUNNING" or run.end_time is not None:
        target.finish_run(run_id, run.status, run.end_time)
    return copied


def copy_inputs(
    target: TrackboardTarget, run_id: str, run: SourceRun, summary: ImportSummary
) -> None:
    """The run's dataset inputs that target run `run_id` lacks (by name and digest)."""
    if not run.inputs:
        return
    there = target.dataset_inputs(run_id)
    missing = [item for item in run.inputs if (item.name, item.digest) not in there]
    target.log_inputs(run_id, missing)
    summary.datasets_sent += len(missing)
    summary.datasets_already_there += len(run.inputs) - len(missing)


def copy_artifacts(
    source: ArtifactSource,
    target: TrackboardTarget,
    run_id: str,
    run: SourceRun,
    summary: ImportSummary,
) -> None:
    """Every artifact file that target run `run_id` lacks (or holds with another size)."""
    files = list(source.artifacts(run))
    if files:
        copied = copy_files(
            files,
            partial(source.download_artifact, run),
            target,
            target.artifact_root(run_id),
        )
        summary.add_files(copied)


def import_from_mlflow(
    source: Source,
    target: TrackboardTarget,
    *,
    experiment_name: str | None = None,
    on_runs_found: Callable[[int], None] = lambda total: None,
    on_run_done: Callable[[SourceRun], None] = lambda run: None,
    on_points: Callable[[int], None] = _ignore,
) -> ImportSummary:
    """Import every active experiment (or only `experiment_name`) and its active runs:
    params, tags, metric histories, dataset inputs, and the artifacts and logged models
    when the source reads them (models before the histories, which link points to them;
    their files and run links after the runs). `on_points` hears each stored batch's size
    (for a points/s display)."""
    summary = ImportSummary()
    experiments: list[tuple[SourceExperiment, int]] = []
    work: list[tuple[int, SourceRun]] = []
    for experiment in source.experiments(experiment_name):
        experiment_id = target.ensure_experiment(experiment.name, experiment.tags)
        summary.experiments += 1
        experiments.append((experiment, experiment_id))
        work += [(experiment_id, run) for run in source.runs(experiment)]
    on_runs_found(len(work))
    run_ids = {run.id: target_run_id(source.description, run.id) for _, run in work}
    models: list[ImportedModel] = []
    models_copied = ModelsCopied()
    there: list[dict[str, Any]] = []
    if isinstance(source, ModelSource):
        for experiment, experiment_id in experiments:
            found, there_models = ensure_models(
                source, target, experiment, experiment_id, run_ids, models_copied
            )
            models += found
            there += there_models
    linked = linked_by_run(models)
    links = links_there(there)
    for experiment_id, run in work:
        run_id = run_ids[run.id]
        copied = copy_run(
            source,
            target,
            experiment_id,
            run,
            on_points,
            linked.get(run.id, ()),
            links.get(run_id, set()),
        )
        if copied.left_unlinked:
            summary.notes.append(
                f"{copied.left_unlinked} points of run {run.id} are in its history but not "
                "linked to their logged model: they were imported before the model was "
                "(e.g. from a server without MLflow installed), and linking them now would "
                "store them twice"
            )
        copy_inputs(target, run_id, run, summary)
        if isinstance(source, ArtifactSource):
            try:
                copy_artifacts(source, target, run_id, run, summary)
            except SourceError as exc:
                # One run's unreadable files (e.g. behind a server's proxy) stop no other run.
                summary.errors.append(f"artifacts of run {run.id} not copied: {exc}")
        summary.runs += 1
        summary.new_runs += int(copied.is_new)
        summary.points_sent += copied.points_sent
        summary.points_already_there += copied.points_already_there
        summary.linked_points_sent += copied.linked_points_sent
        on_run_done(run)
    if isinstance(source, ModelSource):
        finish_models(source, target, models, [run for _, run in work], run_ids, models_copied)
    summary.models_sent += models_copied.sent
    summary.models_already_there += models_copied.already_there
    summary.add_files(models_copied.files)
    summary.errors += models_copied.errors
    return summary
