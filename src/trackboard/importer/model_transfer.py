"""Copy MLflow 3 logged models (with their files, run links and times) into Trackboard.

A model keeps its MLflow id (`m-<32 hex digits>`) and its creation and last-update times,
as a run keeps its id and start and end times; a model with another kind of id gets the
server's, with the source id in a tag. A second import finds a model by either and does not
create it again; only files it lacks are uploaded. Models are created before the runs'
histories are copied, so that the points MLflow linked to a model go in linked to it
(`linked_points`); files, run links and the final status follow once the runs exist.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from trackboard.importer.artifact_copy import FilesCopied, copy_files
from trackboard.importer.linked_points import LinkedPoint
from trackboard.importer.records import (
    SourceArtifact,
    SourceError,
    SourceExperiment,
    SourceModel,
    SourceRun,
)
from trackboard.importer.target import TrackboardTarget, proxied_folder

SOURCE_MODEL_TAG = "trackboard.import.source_model_id"
FINAL_STATUSES = ("READY", "FAILED")
# What MLflow makes: kept as the target's id (the server's model id parser takes it).
MLFLOW_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


@runtime_checkable
class ModelSource(Protocol):
    """A source that can also read MLflow 3 logged models and their files (optional)."""

    def models(self, experiment: SourceExperiment) -> Iterator[SourceModel]: ...

    def model_artifacts(self, model: SourceModel) -> Iterator[SourceArtifact]: ...

    def download_model_artifact(self, model: SourceModel, path: str, folder: Path) -> Path: ...


@dataclass
class ModelsCopied:
    sent: int = 0
    already_there: int = 0
    files: FilesCopied = field(default_factory=FilesCopied)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportedModel:
    """A source model and its twin in the target, as MLflow's `LoggedModel` JSON."""

    source: SourceModel
    target: dict[str, Any]

    @property
    def target_id(self) -> str:
        return str(self.target["info"]["model_id"])

    def linked_points(self) -> Iterator[tuple[str, LinkedPoint]]:
        """(source run id, point) of every metric value MLflow linked to the model."""
        for metric in self.source.metrics:
            yield metric.run_id, LinkedPoint(self.target_id, metric)


def _imported(models: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Target models by the source id they were imported from: their own, or the tag's."""
    found = {}
    for model in models:
        found[model["info"]["model_id"]] = model
        tags = {tag["key"]: tag.get("value", "") for tag in model["info"].get("tags", [])}
        if SOURCE_MODEL_TAG in tags:
            found[tags[SOURCE_MODEL_TAG]] = model
    return found


def ensure_models(
    source: ModelSource,
    target: TrackboardTarget,
    experiment: SourceExperiment,
    experiment_id: int,
    run_ids: dict[str, str],
    copied: ModelsCopied,
) -> tuple[list[ImportedModel], list[dict[str, Any]]]:
    """Each model of the experiment in target experiment `experiment_id`, created if
    missing (PENDING); `run_ids` maps the imported runs' source ids to target ids. Also
    returns the target's models as they were (with the metrics already linked)."""
    there_models = target.logged_models(experiment_id)
    there = _imported(there_models)
    imported = []
    for model in source.models(experiment):
        found = there.get(model.id)
        if found is None:
            keep_id = bool(MLFLOW_MODEL_ID.match(model.id))
            found = target.create_logged_model(
                experiment_id,
                name=model.name,
                model_type=model.model_type,
                source_run_id=run_ids.get(model.source_run_id or ""),
                params=model.params,
                tags=model.tags if keep_id else {**model.tags, SOURCE_MODEL_TAG: model.id},
                model_id=model.id if keep_id else None,
                creation_time=model.creation_time,
                last_update_time=model.last_update_time,
            )
            copied.sent += 1
        else:
            copied.already_there += 1
        imported.append(ImportedModel(model, found))
    return imported, there_models


def _link(
    target: TrackboardTarget,
    model: ImportedModel,
    runs: Sequence[SourceRun],
    run_ids: dict[str, str],
) -> None:
    """The model's links to every imported run that used or produced it (a link the
    target has is not stored again)."""
    source_id = model.source.id
    for run in runs:
        inputs = [model.target_id for model_id in run.model_inputs if model_id == source_id]
        outputs = [
            (model.target_id, step) for model_id, step in run.model_outputs if model_id == source_id
        ]
        if inputs or outputs:
            target.link_models(run_ids[run.id], inputs, outputs)


def finish_models(
    source: ModelSource,
    target: TrackboardTarget,
    models: Sequence[ImportedModel],
    runs: Sequence[SourceRun],
    run_ids: dict[str, str],
    copied: ModelsCopied,
) -> None:
    """Once the runs are in: each model's run links and files, then its final status."""
    for model in models:
        _link(target, model, runs, run_ids)
        info = model.target["info"]
        try:
            files = copy_files(
                source.model_artifacts(model.source),
                partial(source.download_model_artifact, model.source),
                target,
                proxied_folder(info["artifact_uri"]),
            )
        except SourceError as exc:
            # Left PENDING, so that the next import tries its files again.
            copied.errors.append(f"files of model {model.source.id} not copied: {exc}")
            continue
        copied.files.add(files)
        # Finalized after its files are in, as MLflow's client does.
        if info.get("status") == "LOGGED_MODEL_PENDING" and model.source.status in FINAL_STATUSES:
            target.finalize_logged_model(
                model.target_id, model.source.status, model.source.last_update_time or None
            )


def linked_by_run(models: Sequence[ImportedModel]) -> dict[str, list[LinkedPoint]]:
    """The points linked to the imported models, by source run id."""
    found: dict[str, list[LinkedPoint]] = {}
    for model in models:
        for run_id, point in model.linked_points():
            found.setdefault(run_id, []).append(point)
    return found
