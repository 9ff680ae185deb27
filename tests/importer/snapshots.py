"""What an import must carry over, read from a store the same way on both sides."""

import hashlib
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from trackboard.importer.mlflow_store import MlflowStoreSource
from trackboard.importer.records import ModelMetric, SourceArtifact


def _value(value: float) -> Any:
    return "nan" if math.isnan(value) else value


def _model_metric(m: ModelMetric) -> tuple[Any, ...]:
    return (m.run_id, m.key, m.step, m.timestamp, _value(m.value), m.dataset_name, m.dataset_digest)


def _files(
    artifacts: list[SourceArtifact], download: Callable[[str, Path], Path], scratch: Path
) -> dict[str, Any]:
    """Path -> (size, SHA-256 of the content) of every file."""
    files = {}
    for artifact in artifacts:
        folder = scratch / artifact.path.replace("/", "_")
        folder.mkdir(parents=True)
        local = download(artifact.path, folder)
        files[artifact.path] = (artifact.size, hashlib.sha256(local.read_bytes()).hexdigest())
    return files


def snapshot(source: MlflowStoreSource, names: list[str], scratch: Path) -> dict[str, Any]:
    """Experiments `names` with every run's fields, params, tags, full histories, dataset
    inputs, artifact files and model links, keyed by run id; and their logged models with
    id, times, params, tags, linked metric values, status, source run and files, keyed by
    name."""
    view: dict[str, Any] = {}
    model_names: dict[str, str] = {}
    for name in names:
        (experiment,) = source.experiments(name)
        models = {}
        for model in source.models(experiment):
            model_names[model.id] = model.name
            models[model.name] = {
                "type": model.model_type,
                "status": model.status,
                "source_run_id": model.source_run_id,
                "id": model.id,
                "created": model.creation_time,
                "last_updated": model.last_update_time,
                "params": model.params,
                "tags": model.tags,
                "metrics": sorted(map(_model_metric, model.metrics), key=repr),
                "files": _files(
                    list(source.model_artifacts(model)),
                    partial(source.download_model_artifact, model),
                    scratch / model.id,
                ),
            }
        view[name] = {"tags": experiment.tags, "models": models, "runs": {}}
    for name in names:
        (experiment,) = source.experiments(name)
        runs: dict[str, Any] = view[name]["runs"]
        for run in source.runs(experiment):
            histories = {}
            for key in run.metric_keys:
                series = source.history(run, key)
                histories[key] = list(
                    zip(series.steps, series.timestamps, map(_value, series.values), strict=True)
                )
            runs[run.id] = {
                "name": run.name,
                "user": run.user,
                "status": run.status,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "params": run.params,
                "tags": run.tags,
                "histories": histories,
                "inputs": sorted(run.inputs, key=lambda i: (i.name, i.digest)),
                "artifacts": _files(
                    list(source.artifacts(run)),
                    partial(source.download_artifact, run),
                    scratch / run.id,
                ),
                "model_inputs": [model_names[m] for m in run.model_inputs],
                "model_outputs": [(model_names[m], step) for m, step in run.model_outputs],
            }
    return view


def point_count(view: dict[str, Any]) -> int:
    return sum(
        len(history)
        for experiment in view.values()
        for run in experiment["runs"].values()
        for history in run["histories"].values()
    )
