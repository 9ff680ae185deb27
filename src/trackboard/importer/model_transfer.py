"""Copy MLflow 3 logged models (with their files and run links) into Trackboard.

The target gives a model its own id, so an imported model carries its source id in a tag
and a second import finds it there: it is not created again, and only files it lacks are
uploaded. Metric values linked to a model are not linked again: the same points are
already in the run's history, and linking them through MLflow's door would store them
there twice.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from trackboard.importer.artifact_copy import FilesCopied, copy_files
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


def _imported(models: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Target models by the source id they were imported from."""
    found = {}
    for model in models:
        tags = {tag["key"]: tag.get("value", "") for tag in model["info"].get("tags", [])}
        if SOURCE_MODEL_TAG in tags:
            found[tags[SOURCE_MODEL_TAG]] = model
    return found


def _link(
    target: TrackboardTarget,
    source_id: str,
    target_id: str,
    runs: Sequence[SourceRun],
    run_ids: dict[str, str],
) -> None:
    """The new model's links to every imported run that used or produced it."""
    for run in runs:
        inputs = [target_id for model_id in run.model_inputs if model_id == source_id]
        outputs = [
            (target_id, step) for model_id, step in run.model_outputs if model_id == source_id
        ]
        if inputs or outputs:
            target.link_models(run_ids[run.id], inputs, outputs)


def copy_models(
    source: ModelSource,
    target: TrackboardTarget,
    experiment: SourceExperiment,
    experiment_id: int,
    runs: Sequence[SourceRun],
    run_ids: dict[str, str],
) -> ModelsCopied:
    """The experiment's models into target experiment `experiment_id`; `runs` are every
    imported run, `run_ids` their target ids by source id."""
    copied = ModelsCopied()
    there = _imported(target.logged_models(experiment_id))
    for model in source.models(experiment):
        found = there.get(model.id)
        if found is None:
            found = target.create_logged_model(
                experiment_id,
                name=model.name,
                model_type=model.model_type,
                source_run_id=run_ids.get(model.source_run_id or ""),
                params=model.params,
                tags={**model.tags, SOURCE_MODEL_TAG: model.id},
            )
            _link(target, model.id, found["info"]["model_id"], runs, run_ids)
            copied.sent += 1
        else:
            copied.already_there += 1
        info = found["info"]
        try:
            files = copy_files(
                source.model_artifacts(model),
                partial(source.download_model_artifact, model),
                target,
                proxied_folder(info["artifact_uri"]),
            )
        except SourceError as exc:
            # Left PENDING, so that the next import tries its files again.
            copied.errors.append(f"files of model {model.id} not copied: {exc}")
            continue
        copied.files.add(files)
        # Finalized after its files are in, as MLflow's client does.
        if info.get("status") == "LOGGED_MODEL_PENDING" and model.status in FINAL_STATUSES:
            target.finalize_logged_model(info["model_id"], model.status)
    return copied
