"""What an import must carry over, read from a store the same way on both sides."""

import hashlib
import math
from pathlib import Path
from typing import Any

from trackboard.importer.mlflow_store import MlflowStoreSource


def _value(value: float) -> Any:
    return "nan" if math.isnan(value) else value


def snapshot(source: MlflowStoreSource, names: list[str], scratch: Path) -> dict[str, Any]:
    """Experiments `names` with every run's fields, params, tags, full histories, dataset
    inputs and artifact files (path, size and SHA-256 of the content), keyed by run id."""
    view: dict[str, Any] = {}
    for name in names:
        (experiment,) = source.experiments(name)
        runs: dict[str, Any] = {}
        for run in source.runs(experiment):
            histories = {}
            for key in run.metric_keys:
                series = source.history(run, key)
                histories[key] = list(
                    zip(series.steps, series.timestamps, map(_value, series.values), strict=True)
                )
            artifacts = {}
            for artifact in source.artifacts(run):
                folder = scratch / run.id / artifact.path.replace("/", "_")
                folder.mkdir(parents=True)
                local = source.download_artifact(run, artifact.path, folder)
                artifacts[artifact.path] = (
                    artifact.size,
                    hashlib.sha256(local.read_bytes()).hexdigest(),
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
                "artifacts": artifacts,
            }
        view[name] = {"tags": experiment.tags, "runs": runs}
    return view


def point_count(view: dict[str, Any]) -> int:
    return sum(
        len(history)
        for experiment in view.values()
        for run in experiment["runs"].values()
        for history in run["histories"].values()
    )
