"""Our experiments and runs as MLflow's JSON entities (proto field names, snake_case).

Times and steps go out as JSON numbers and non-finite metric values as "NaN"/"Infinity",
as MLflow's own server writes them; empty lists are left out as protobuf does.
"""

from typing import Any

import orjson
from fastapi import Response

from trackboard.server.artifacts.locations import experiment_artifact_location, run_artifact_uri
from trackboard.server.artifacts.store import ArtifactEntry
from trackboard.server.metrics.points import Points
from trackboard.server.metrics.values import render_value, render_values
from trackboard.server.models import Experiment, RunFields
from trackboard.server.runs.schemas import RunView

# Dataset inputs (mlflow.log_input) are kept in this run tag and shown as `inputs`, not tags.
INPUTS_TAG = "trackboard.mlflow.inputs"


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


def run_json(run: RunFields, read: RunView, experiment: Experiment) -> dict[str, Any]:
    tags = dict(read["tags"])
    inputs_text = tags.pop(INPUTS_TAG, None)
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
    if tags:
        data["tags"] = key_values(tags)
    inputs: dict[str, Any] = {}
    if inputs_text:
        inputs["dataset_inputs"] = orjson.loads(inputs_text)
    return {
        "info": run_info_json(run, experiment),
        "data": data,
        "inputs": inputs,
        "outputs": {},
    }
