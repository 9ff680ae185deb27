"""Log a small but varied MLflow dataset with the official client, in this process.

Every store gets the same data through `MlflowClient(tracking_uri=...)`: experiments
PREFIX-a (two runs, FINISHED and FAILED, with several-step histories, NaN, a dataset input
and artifacts; a logged model with files and metric values linked to it, made by the first
run and used by the second, and a FAILED one) and PREFIX-b (a parent, its nested child and
a deleted run).
"""

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    RunTag,
)

DATASET = Dataset(
    name="digits-train",
    digest="3f1c9a2b",
    source_type="local",
    source='{"uri": "/data/digits/train.csv"}',
    schema='{"mlflow_colspec": [{"type": "double", "name": "x"}]}',
    profile='{"num_rows": 1797, "num_elements": 115008}',
)


@contextmanager
def allowing_file_store(tracking_uri: str) -> Iterator[None]:
    """MLflow 3 writes mlruns folders only behind this switch; set it for that store only."""
    if not tracking_uri.startswith("file:"):
        yield
        return
    before = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = before


def _experiment(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    location = (artifact_root / name).as_uri() if artifact_root else None
    return str(client.create_experiment(name, artifact_location=location))


def write_runs(
    tracking_uri: str, prefix: str, artifact_root: Path | None = None, files: Path | None = None
) -> list[str]:
    """Write both experiments; returns the ids of PREFIX-a's runs. `artifact_root` is where
    a database store keeps artifacts; `files` a scratch folder for the files to log."""
    with allowing_file_store(tracking_uri):
        client = MlflowClient(tracking_uri=tracking_uri)
        return _write(client, prefix, artifact_root, files or Path.cwd())


def _write(client: MlflowClient, prefix: str, artifact_root: Path | None, files: Path) -> list[str]:
    experiment_a = _experiment(client, f"{prefix}-a", artifact_root)
    client.set_experiment_tag(experiment_a, "team", "vision")
    (files / "notes").mkdir(parents=True, exist_ok=True)
    (files / "notes" / "readme.txt").write_text("trained on digits\n")
    (files / "weights.bin").write_bytes(bytes(range(256)) * 40)
    run_ids = []
    for index in range(2):
        run = client.create_run(experiment_a, run_name=f"a-{index}")
        run_id = run.info.run_id
        params = {"lr": str(0.1 * (index + 1)), "optimizer": "adam", "long": "x" * 300}
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 1 / (step + 1), 1_000_000 + step, step) for step in range(100)]
            + [Metric("val/acc", 0.5 + step / 100, 1_000_000 + step, step) for step in range(40)],
            params=[Param(key, value) for key, value in params.items()],
            tags=[RunTag("kind", "sweep"), RunTag("nested/key", "v")],
        )
        client.log_metric(run_id, "weird", math.nan, step=0)
        client.log_metric(run_id, "weird", math.inf, step=1)
        client.log_metric(run_id, "weird", 2.0, step=2)
        client.log_metric(run_id, "same_step", 1.0, step=3, timestamp=5)
        client.log_metric(run_id, "same_step", 2.0, step=3, timestamp=6)
        context = [InputTag("mlflow.data.context", "training" if index == 0 else "eval")]
        client.log_inputs(run_id, datasets=[DatasetInput(DATASET, tags=context)])
        client.log_artifact(run_id, str(files / "weights.bin"))
        client.log_artifacts(run_id, str(files / "notes"), "notes")
        run_ids.append(run_id)
    _write_models(client, experiment_a, run_ids, files)
    for run_id, status in zip(run_ids, ["FINISHED", "FAILED"], strict=True):
        client.set_terminated(run_id, status)

    experiment_b = _experiment(client, f"{prefix}-b", artifact_root)
    parent = client.create_run(experiment_b, run_name="parent").info.run_id
    client.log_metric(parent, "x", 1.0)
    child = client.create_run(
        experiment_b, run_name="child", tags={"mlflow.parentRunId": parent}
    ).info.run_id
    client.log_param(child, "p", "child-param")
    client.log_metric(child, "x", 3.0, step=2)
    for run_id in (child, parent):
        client.set_terminated(run_id)
    deleted = client.create_run(experiment_b, run_name="deleted").info.run_id
    client.log_metric(deleted, "x", 9.0)
    client.delete_run(deleted)
    return run_ids


def _write_models(client: MlflowClient, experiment: str, run_ids: list[str], files: Path) -> None:
    model = client.create_logged_model(
        experiment,
        name="classifier",
        source_run_id=run_ids[0],
        params={"C": "0.5", "kernel": "rbf"},
        tags={"stage": "candidate"},
        model_type="sklearn",
    )
    client.log_model_artifact(model.model_id, str(files / "weights.bin"))
    client.log_model_artifacts(model.model_id, str(files / "notes"), "docs")
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    client.log_outputs(run_ids[0], [LoggedModelOutput(model.model_id, step=99)])
    client.log_inputs(run_ids[1], models=[LoggedModelInput(model.model_id)])
    # Values measured for the model (as autolog logs them): a key of their own and one point
    # among a run's other `loss` points, on the training run; an eval score on the other.
    on_digits = {"dataset_name": DATASET.name, "dataset_digest": DATASET.digest}
    client.log_batch(
        run_ids[0],
        metrics=[
            Metric("model_acc", 0.9, 1_000_200, 0, model_id=model.model_id, **on_digits),
            Metric("model_acc", 0.95, 1_000_201, 1, model_id=model.model_id, **on_digits),
            Metric("loss", 0.004, 1_000_150, 100, model_id=model.model_id),
        ],
    )
    client.log_batch(
        run_ids[1], metrics=[Metric("eval_acc", math.nan, 1_000_300, 0, model_id=model.model_id)]
    )
    failed = client.create_logged_model(experiment, name="broken", source_run_id=run_ids[1])
    client.finalize_logged_model(failed.model_id, LoggedModelStatus.FAILED)


def log_more(tracking_uri: str, run_id: str) -> None:
    """30 more points of `loss` on a run written by `write_runs`."""
    points = [Metric("loss", 0.001 * step, 2_000_000 + step, step) for step in range(100, 130)]
    with allowing_file_store(tracking_uri):
        MlflowClient(tracking_uri=tracking_uri).log_batch(run_id, metrics=points)
