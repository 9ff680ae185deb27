"""Our experiments and runs as MLflow's JSON entities (proto field names, snake_case).

Times and steps go out as JSON numbers and non-finite metric values as "NaN"/"Infinity",
as MLflow's own server writes them; empty lists are left out as protobuf does.
"""

import math
from typing import Any

import orjson
from fastapi import Response

from trackboard.server.artifacts.locations import experiment_artifact_location, run_artifact_uri
from trackboard.server.artifacts.store import ArtifactEntry
from trackboard.server.logged_models.schemas import ModelView, RunModels
from trackboard.server.metrics.points import Points
from trackboard.server.metrics.values import render_value, render_values
from trackboard.server.models import Experiment, RunDatasetInput, RunFields
from trackboard.server.runs.schemas import RunView


def json_response(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def key_values(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in items.items()]


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_id": str(experiment.id),
        "name": experiment.name,
        "artifact_location": experiment_artifact_location(experiment),
        "lifecycle_stage": experiment.lifecycle_stage,
        "last_update_time": experiment.last_update_time,
        "creation_time": experiment.creation_time,
    }
    if experiment.tags:
        body["tags"] = key_values({tag.key: tag.value for tag in experiment.tags})
    return body


def run_info_json(run: RunFields, experiment: Experiment) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": str(run.experiment_id),
        "user_id": run.user,
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": run_artifact_uri(run, experiment),
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def metric_json(key: str, value: float, timestamp: int, step: int) -> dict[str, Any]:
    return {"key": key, "value": render_value(value), "timestamp": timestamp, "step": step}


def metric_rows(key: str, points: Points, run_id: str) -> list[dict[str, Any]]:
    """A run's points as MLflow's `MetricWithRunId` entities, in the points' order."""
    return [
        {"key": key, "value": value, "timestamp": timestamp, "step": step, "run_id": run_id}
        for step, timestamp, value in zip(
            points.steps.tolist(),
            points.timestamps.tolist(),
            render_values(points.values),
            strict=True,
        )
    ]


def file_info_json(path: str, entry: ArtifactEntry) -> dict[str, Any]:
    """MLflow's `FileInfo` for an artifact shown as `path`: a folder has no size."""
    if entry.is_dir:
        return {"path": path, "is_dir": True}
    return {"path": path, "is_dir": False, "file_size": entry.file_size}


def dataset_input_json(row: RunDatasetInput) -> dict[str, Any]:
    """MLflow's `DatasetInput`: the input's tags and the dataset as it was logged."""
    dataset: dict[str, Any] = {
        "name": row.name,
        "digest": row.digest,
        "source_type": row.source_type,
        "source": row.source,
    }
    if row.schema is not None:
        dataset["schema"] = row.schema
    if row.profile is not None:
        dataset["profile"] = row.profile
    item: dict[str, Any] = {"dataset": dataset}
    tags = orjson.loads(row.tags)
    if tags:
        item["tags"] = tags
    return item


def run_json(
    run: RunFields,
    read: RunView,
    experiment: Experiment,
    datasets: list[RunDatasetInput] | None = None,
    models: RunModels | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if read["metrics"]:
        data["metrics"] = [
            {
                "key": key,
                "value": summary["value"],
                "timestamp": summary["timestamp"],
                "step": summary["step"],
            }
            for key, summary in read["metrics"].items()
        ]
    if read["params"]:
        data["params"] = key_values(read["params"])
    if read["tags"]:
        data["tags"] = key_values(dict(read["tags"]))
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    if datasets:
        inputs["dataset_inputs"] = [dataset_input_json(row) for row in datasets]
    if models and models.inputs:
        inputs["model_inputs"] = [{"model_id": model_id} for model_id in models.inputs]
    if models and models.outputs:
        outputs["model_outputs"] = [
            {"model_id": model_id, "step": step} for model_id, step in models.outputs
        ]
    return {
        "info": run_info_json(run, experiment),
        "data": data,
        "inputs": inputs,
        "outputs": outputs,
    }


def model_json(view: ModelView) -> dict[str, Any]:
    """MLflow's `LoggedModel`: info (with the tags) and data (params, metrics)."""
    model = view.model
    info: dict[str, Any] = {
        "model_id": model.id,
        "experiment_id": str(model.experiment_id),
        "name": model.name,
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_update_time,
        "artifact_uri": model.artifact_location,
        "status": model.status,
        "model_type": model.model_type or "",
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    if view.tags:
        info["tags"] = key_values(view.tags)
    data: dict[str, Any] = {}
    if view.params:
        data["params"] = key_values(view.params)
    if view.metrics:
        data["metrics"] = [model_metric_json(metric) for metric in view.metrics]
    return {"info": info, "data": data}


def model_metric_json(metric: Any) -> dict[str, Any]:
    value = math.nan if metric.value is None else metric.value  # NaN is stored as NULL
    body: dict[str, Any] = metric_json(metric.key, value, metric.timestamp, metric.step)
    for name in ("dataset_name", "dataset_digest"):
        if getattr(metric, name):
            body[name] = getattr(metric, name)
    body["model_id"] = metric.model_id
    if metric.run_id:
        body["run_id"] = metric.run_id
    return body
