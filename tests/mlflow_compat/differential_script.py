"""A typical MLflow training-and-analysis script; prints what the client saw, as JSON.

Run once against MLflow's own server and once against Trackboard (MLFLOW_TRACKING_URI) by
`test_differential.py`, which compares the two outputs. Ids and times are replaced by labels
and dropped here, since they legitimately differ between servers.
"""

import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib
import mlflow
import mlflow.artifacts
import mlflow.data
import numpy
import pandas  # type: ignore[import-untyped]
import requests
from matplotlib import pyplot
from mlflow import MlflowClient
from mlflow.entities import (
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException

PREFIX = sys.argv[1]
client = MlflowClient()
labels: dict[str, str] = {}  # long unique strings (run ids, generated names) → labels
experiment_labels: dict[str, str] = {}  # short numeric ids, replaced only as whole values
out: dict[str, Any] = {}


def label(real_id: str, name: str) -> None:
    labels.setdefault(real_id, name)


def label_experiment(real_id: str, name: str) -> None:
    experiment_labels.setdefault(real_id, name)


EXPERIMENT_ID_FIELDS = {"experiment_id", "experiment_ids"}


def clean(value: Any, field: str | None = None) -> Any:
    """Ids → labels; NaN → "nan", so that the JSON compares equal.

    Experiment ids are small numbers: only fields that hold one are relabelled, so that a
    param value "3" is not taken for experiment 3. An experiment the script did not label
    (its id depends on what else the shared servers hold) becomes "<experiment>".
    """
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, str):
        if field in EXPERIMENT_ID_FIELDS and value.isdigit():
            return experiment_labels.get(value, "<experiment>")
        for real, name in labels.items():
            value = value.replace(real, name)
        value = re.sub(
            r"^mlflow-artifacts:/(\d+)",
            lambda m: "mlflow-artifacts:/" + experiment_labels.get(m[1], "<experiment>"),
            value,
        )
        return value.replace(PREFIX, "<prefix>")
    if isinstance(value, dict):
        return {clean(k): clean(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, field) for v in value]
    return value


def run_view(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": info.status,
        "lifecycle_stage": info.lifecycle_stage,
        "has_end_time": bool(info.end_time),
        "artifact_uri": info.artifact_uri,
        "metrics": run.data.metrics,
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.source.git")},
    }


def experiment_view(experiment: Any) -> dict[str, Any]:
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage,
        "artifact_location": experiment.artifact_location,
        "tags": experiment.tags,
    }


def error_code(call: Any) -> str:
    try:
        call()
    except MlflowException as exc:
        return str(exc.error_code)
    return "no error"


def names(runs: Any) -> list[str]:
    return [run.info.run_name for run in runs]


def pause() -> None:
    # Distinct start times make MLflow's default order (start_time DESC) deterministic.
    time.sleep(0.02)


# --- logging ---------------------------------------------------------------------------
experiment = mlflow.set_experiment(f"{PREFIX}-main")
experiment_id = experiment.experiment_id
label_experiment(experiment_id, "exp-main")
with mlflow.start_run(run_name="parent") as parent:
    label(parent.info.run_id, "run-parent")
    mlflow.log_param("lr", 0.01)
    mlflow.log_params({"optimizer": "adam", "layers": 3})
    for step in range(20):
        mlflow.log_metric("loss", 1 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=5)
    mlflow.set_tag("team", "vision")
    mlflow.set_tags({"a": "1", "b": "2"})
    pause()
    with mlflow.start_run(run_name="child", nested=True) as child:
        label(child.info.run_id, "run-child")
        mlflow.log_metric("x", 1.0)
        mlflow.log_metric("x", float("nan"), step=1)
        now = int(time.time() * 1000)
        client.log_batch(
            child.info.run_id,
            metrics=[Metric("m1", 1.5, now, 0), Metric("m1", 2.5, now, 1)],
            params=[Param("p9", "v9")],
            tags=[RunTag("bt", "bv")],
        )
for index, status in enumerate(["FINISHED", "FAILED", "KILLED", "FINISHED"]):
    pause()
    run = mlflow.start_run(run_name=f"sweep-{index}")
    label(run.info.run_id, f"run-sweep-{index}")
    mlflow.log_metric("acc", 0.5 + index / 10)
    mlflow.log_param("i", index)
    mlflow.set_tag("kind", "sweep" if index < 2 else "other")
    mlflow.end_run(status=status)
pause()
unnamed = mlflow.start_run()
label(unnamed.info.run_id, "run-unnamed")
label(unnamed.info.run_name, "<generated-name>")
mlflow.end_run()
client.set_terminated(unnamed.info.run_id, status="KILLED")
out["unnamed_has_generated_name"] = bool(client.get_run(unnamed.info.run_id).info.run_name)
client.delete_run(unnamed.info.run_id)

other = client.create_experiment(f"{PREFIX}-other", tags={"owner": "me"})
label_experiment(other, "exp-other")
client.set_experiment_tag(other, "stage", "dev")
client.rename_experiment(other, f"{PREFIX}-renamed")
out["renamed"] = experiment_view(client.get_experiment(other))

# --- reading back ----------------------------------------------------------------------
out["parent"] = run_view(client.get_run(parent.info.run_id))
out["child"] = run_view(client.get_run(child.info.run_id))
out["experiment"] = experiment_view(mlflow.get_experiment_by_name(f"{PREFIX}-main"))
out["missing_experiment"] = mlflow.get_experiment_by_name(f"{PREFIX}-missing") is None
out["history_loss"] = [
    (m.step, m.value) for m in client.get_metric_history(parent.info.run_id, "loss")
]
out["history_x"] = [(m.step, m.value) for m in client.get_metric_history(child.info.run_id, "x")]
out["history_m1"] = [(m.step, m.value) for m in client.get_metric_history(child.info.run_id, "m1")]

searches = {
    "all": ("", []),
    "acc_gt": ("metrics.acc > 0.55", ["metrics.acc DESC"]),
    "param_eq": ("params.i = '1'", []),
    "tag_eq": ("tags.kind = 'sweep'", ["attributes.run_name ASC"]),
    "status": ("attributes.status = 'FAILED'", []),
    "status_ne": ("attributes.status != 'FINISHED'", ["run_name DESC"]),
    "top_level": ("tags.mlflow.parentRunId IS NULL", []),
    "has_parent": ("tags.mlflow.parentRunId IS NOT NULL", []),
    "loss_lt": ("metrics.loss < 0.1", []),
    "like": ("params.optimizer LIKE 'ad%'", []),
    "ilike": ("attributes.run_name ILIKE 'SWEEP-%'", ["params.i DESC"]),
    "and": ("metrics.acc >= 0.6 and tags.kind = 'other'", ["metrics.acc ASC"]),
    "run_name_eq": ("run_name = 'child'", []),
    "order_tag_metric": ("", ["tags.kind DESC", "metrics.acc ASC"]),
    "order_start": ("", ["attributes.start_time ASC"]),
    "order_param_missing": ("", ["params.i ASC"]),
}
out["search"] = {
    name: names(client.search_runs([experiment_id], filter_string, order_by=order_by))
    for name, (filter_string, order_by) in searches.items()
}
out["search_fluent"] = sorted(
    mlflow.search_runs(experiment_names=[f"{PREFIX}-main"], output_format="list")[0].data.params
)
out["search_deleted"] = names(
    client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
)
out["search_all_views"] = len(client.search_runs([experiment_id], run_view_type=ViewType.ALL))
pages = []
page = client.search_runs([experiment_id], max_results=3)
pages.append(names(page))
while page.token:
    page = client.search_runs([experiment_id], max_results=3, page_token=page.token)
    pages.append(names(page))
out["search_pages"] = pages

out["experiments_by_name"] = [
    experiment_view(e)
    for e in mlflow.search_experiments(filter_string=f"name LIKE '{PREFIX}-%'", order_by=["name"])
]
out["experiments_by_tag"] = [
    e.name
    for e in mlflow.search_experiments(filter_string="tags.owner = 'me'")
    if e.name.startswith(PREFIX)
]
out["experiments_newest_first"] = [
    e.name for e in mlflow.search_experiments(filter_string=f"name LIKE '{PREFIX}%'")
]

# --- delete and restore ----------------------------------------------------------------
client.delete_run(child.info.run_id)
out["child_deleted"] = client.get_run(child.info.run_id).info.lifecycle_stage
client.restore_run(child.info.run_id)
out["child_restored"] = client.get_run(child.info.run_id).info.lifecycle_stage
client.delete_experiment(other)
out["other_deleted"] = client.get_experiment(other).lifecycle_stage
out["deleted_experiments"] = [
    e.name
    for e in mlflow.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{PREFIX}%'"
    )
]
client.restore_experiment(other)
out["other_restored"] = client.get_experiment(other).lifecycle_stage
client.delete_tag(parent.info.run_id, "a")
out["parent_tags_after_delete"] = sorted(client.get_run(parent.info.run_id).data.tags)

# --- errors the client sees --------------------------------------------------------------
out["errors"] = {
    "param_changed": error_code(lambda: client.log_param(parent.info.run_id, "lr", "0.5")),
    "unknown_run": error_code(lambda: client.get_run("0123456789abcdef0123456789abcdef")),
    "duplicate_experiment": error_code(lambda: client.create_experiment(f"{PREFIX}-main")),
    "bad_filter": error_code(lambda: client.search_runs([experiment_id], "metrics.acc > 'x'")),
    "or_filter": error_code(
        lambda: client.search_runs([experiment_id], "params.i = '1' OR params.i = '2'")
    ),
    "bad_key": error_code(lambda: client.log_metric(parent.info.run_id, "bad*key", 1.0)),
    "missing_tag": error_code(lambda: client.delete_tag(parent.info.run_id, "no-such-tag")),
    "unknown_experiment": error_code(lambda: client.get_experiment("987654")),
}

# --- artifacts through the mlflow-artifacts proxy ----------------------------------------
matplotlib.use("Agg")
mlflow.set_experiment(f"{PREFIX}-artifacts")
with mlflow.start_run(run_name="with-artifacts") as art, tempfile.TemporaryDirectory() as tmp:
    label(art.info.run_id, "run-artifacts")
    mlflow.log_dict({"classes": 10}, "config.json")
    mlflow.log_text("hello", "notes/readme.txt")
    local = Path(tmp) / "data.csv"
    local.write_text("a,b\n1,2\n")
    mlflow.log_artifact(str(local), artifact_path="sub/dir")
    figure, axes = pyplot.subplots()
    axes.plot([1, 2, 3])
    mlflow.log_figure(figure, "plots/curve.png")
    out["artifact_uri"] = art.info.artifact_uri


def listing(path: str | None = None) -> list[Any]:
    return [
        (f.path, f.is_dir, None if f.is_dir or f.path.endswith(".png") else f.file_size)
        for f in client.list_artifacts(art.info.run_id, path)
    ]


out["artifacts_root"] = listing()
out["artifacts_notes"] = listing("notes")
out["artifacts_sub_dir"] = listing("sub/dir")
with tempfile.TemporaryDirectory() as tmp:
    config = mlflow.artifacts.download_artifacts(
        run_id=art.info.run_id, artifact_path="config.json", dst_path=tmp
    )
    out["downloaded_config"] = Path(config).read_text()
    everything = mlflow.artifacts.download_artifacts(run_id=art.info.run_id, dst_path=tmp)
    out["downloaded_files"] = sorted(
        p.relative_to(everything).as_posix() for p in Path(everything).rglob("*") if p.is_file()
    )
out["loaded_dict"] = mlflow.artifacts.load_dict(f"runs:/{art.info.run_id}/config.json")


# --- logged models (MLflow 3) and dataset inputs -----------------------------------------
models_experiment = mlflow.set_experiment(f"{PREFIX}-models").experiment_id
label_experiment(models_experiment, "exp-models")


def model_view(model: Any) -> dict[str, Any]:
    return {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "status": str(model.status),
        "model_type": model.model_type,
        "source_run_id": model.source_run_id,
        "artifact_location": model.artifact_location,
        "params": model.params,
        "tags": model.tags,
        "metrics": sorted(
            (m.key, m.value, m.step, m.dataset_name, m.dataset_digest, m.run_id)
            for m in model.metrics or []
        ),
    }


def model_names(models: Any) -> list[str]:
    return [model.name for model in models]


features = numpy.arange(12, dtype=numpy.float64).reshape(4, 3)
train_set = mlflow.data.from_numpy(  # type: ignore[attr-defined]
    features, targets=numpy.array([0, 1, 0, 1]), name="train-set"
)
frame_set = mlflow.data.from_pandas(  # type: ignore[attr-defined]
    pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]}), source="data/frame.csv", name="frame-set"
)
with mlflow.start_run(run_name="trainer") as trainer:
    label(trainer.info.run_id, "run-trainer")
    mlflow.log_input(train_set, context="training", tags={"split": "a"})
    mlflow.log_input(frame_set, context="eval")
    mlflow.log_input(train_set, context="again")  # the same dataset again: kept once
    made = []
    for index, (name, accuracy) in enumerate([("alpha", 0.7), ("beta", 0.9), ("gamma", 0.8)]):
        pause()
        model = client.create_logged_model(
            models_experiment,
            name=name,
            source_run_id=trainer.info.run_id,
            params={"units": str(8 * (index + 1))},
            tags={"stage": "dev" if index < 2 else "prod"},
            model_type="classifier",
        )
        label(model.model_id, f"model-{name}")
        made.append(model.model_id)
        mlflow.log_metric("accuracy", accuracy, step=index, model_id=model.model_id)
        mlflow.log_metric("accuracy", accuracy / 2, model_id=model.model_id, dataset=train_set)
    client.log_outputs(trainer.info.run_id, [LoggedModelOutput(made[0], 3)])
    client.finalize_logged_model(made[0], "READY")
    client.finalize_logged_model(made[1], LoggedModelStatus.FAILED)
    client.set_logged_model_tags(made[1], {"stage": "retired", "owner": "me"})
    client.delete_logged_model_tag(made[1], "owner")
    client.log_model_params(made[2], {"depth": "3"})
    initialized = mlflow.initialize_logged_model(name="delta")
    label(initialized.model_id, "model-delta")

out["trainer"] = run_view(client.get_run(trainer.info.run_id))
trainer_run = client.get_run(trainer.info.run_id)
assert trainer_run.inputs is not None
assert trainer_run.outputs is not None
out["trainer_inputs"] = [
    (
        d.dataset.name,
        d.dataset.digest,
        d.dataset.source_type,
        d.dataset.source,
        d.dataset.schema,
        d.dataset.profile,
        sorted((t.key, t.value) for t in d.tags),
    )
    for d in trainer_run.inputs.dataset_inputs
]
out["trainer_outputs"] = [(m.model_id, m.step) for m in trainer_run.outputs.model_outputs]
out["trainer_in_search"] = [
    [d.dataset.name for d in run.inputs.dataset_inputs] if run.inputs else []
    for run in client.search_runs([models_experiment], "attributes.run_name = 'trainer'")
]
with mlflow.start_run(run_name="plain"):
    mlflow.log_input(frame_set, context="training")
dataset_searches = {
    "name": "datasets.name = 'train-set'",
    "context": "datasets.context = 'training'",
    "digest_in": f"datasets.digest IN ('{train_set.digest}', 'nope')",
    "name_like": "datasets.name LIKE 'frame%'",
    "context_ne": "datasets.context != 'eval'",
    "none": "datasets.name = 'missing'",
}
out["runs_by_dataset"] = {
    name: sorted(names(client.search_runs([models_experiment], filter_string)))
    for name, filter_string in dataset_searches.items()
}
out["models"] = {model_id: model_view(client.get_logged_model(model_id)) for model_id in made}
model_searches = {
    "all": (None, None, None),
    "by_name": ("name = 'beta'", None, None),
    "by_metric": ("metrics.accuracy > 0.75", None, None),
    "by_param": ("params.depth = '3'", None, None),
    "by_tag_like": ("tags.stage LIKE 'pro%'", None, None),
    "by_status": ("source_run_id = '" + trainer.info.run_id + "' AND name != 'alpha'", None, None),
    "order_metric": (None, [{"field_name": "metrics.accuracy", "ascending": False}], None),
    "order_name": (None, [{"field_name": "name", "ascending": True}], None),
    # With the digest: MLflow's server matches a name-only dataset to metrics without one.
    "dataset": (None, None, [{"dataset_name": "train-set", "dataset_digest": train_set.digest}]),
    "dataset_metric": (
        "metrics.accuracy > 0.4",
        None,
        [{"dataset_name": "train-set", "dataset_digest": train_set.digest}],
    ),
}
out["model_search"] = {
    name: model_names(
        client.search_logged_models(
            [models_experiment], filter_string, datasets=datasets, order_by=order_by
        )
    )
    for name, (filter_string, order_by, datasets) in model_searches.items()
}
model_pages = []
model_page = client.search_logged_models([models_experiment], max_results=2)
model_pages.append(model_names(model_page))
while model_page.token:
    model_page = client.search_logged_models(
        [models_experiment], max_results=2, page_token=model_page.token
    )
    model_pages.append(model_names(model_page))
out["model_search_pages"] = model_pages
client.delete_logged_model(made[2])
out["model_search_after_delete"] = model_names(client.search_logged_models([models_experiment]))
out["model_errors"] = {
    "deleted": error_code(lambda: client.get_logged_model(made[2])),
    "unknown": error_code(lambda: client.get_logged_model("m-0123456789abcdef0123456789abcdef")),
    "bad_name": error_code(lambda: client.create_logged_model(models_experiment, name="a/b")),
    "bad_order": error_code(
        lambda: client.search_logged_models(
            [models_experiment], order_by=[{"field_name": "params.units"}]
        )
    ),
    "missing_tag": error_code(lambda: client.delete_logged_model_tag(made[0], "nope")),
}


# --- endpoints of MLflow's web UI, called as its JavaScript does -----------------------
SERVER = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")


def ui_get(endpoint: str, **params: Any) -> Any:
    """A GET as MLflow's UI sends it: an answer, or the error's code and message."""
    url = f"{SERVER}/ajax-api/2.0/mlflow{endpoint}"
    response = requests.get(url, params=params, timeout=30)
    body = response.json()
    if response.status_code != 200:
        return [response.status_code, body["error_code"], body["message"]]
    return body


def points(body: Any) -> list[Any]:
    return [(m["run_id"], m["step"], m["value"]) for m in body.get("metrics", [])]


sweep_ids = [
    run.info.run_id
    for run in client.search_runs([experiment_id], "tags.kind = 'sweep'", order_by=["params.i"])
]
interval = "/metrics/get-history-bulk-interval"
out["ui_bulk_interval"] = {
    "loss_5": points(
        ui_get(interval, run_ids=[parent.info.run_id], metric_key="loss", max_results=5)
    ),
    "loss_1": points(
        ui_get(interval, run_ids=[parent.info.run_id], metric_key="loss", max_results=1)
    ),
    "loss_range": points(
        ui_get(
            interval,
            run_ids=[parent.info.run_id],
            metric_key="loss",
            max_results=4,
            start_step=3,
            end_step=12,
        )
    ),
    # Runs come back in the order asked.
    "acc_runs": points(
        ui_get(interval, run_ids=[sweep_ids[1], parent.info.run_id, sweep_ids[0]], metric_key="acc")
    ),
    "unknown_key": ui_get(interval, run_ids=[parent.info.run_id], metric_key="nope"),
    "no_runs": ui_get(interval, metric_key="loss"),
    "no_key": ui_get(interval, run_ids=[parent.info.run_id]),
    "max_0": ui_get(interval, run_ids=[parent.info.run_id], metric_key="loss", max_results=0),
    "max_2501": ui_get(interval, run_ids=[parent.info.run_id], metric_key="loss", max_results=2501),
    "max_abc": ui_get(interval, run_ids=[parent.info.run_id], metric_key="loss", max_results="abc"),
    "too_many_runs": ui_get(interval, run_ids=[parent.info.run_id] * 101, metric_key="loss"),
    "one_step_bound": ui_get(
        interval, run_ids=[parent.info.run_id], metric_key="loss", start_step=1
    ),
    "steps_reversed": ui_get(
        interval, run_ids=[parent.info.run_id], metric_key="loss", start_step=5, end_step=2
    ),
}
bulk = "/metrics/get-history-bulk"
out["ui_bulk_history"] = {
    "loss_7": points(ui_get(bulk, run_id=[parent.info.run_id], metric_key="loss", max_results=7)),
    # Sorted by value: the runs come back by run id, and ids differ between the servers.
    "acc_two_runs": sorted(
        points(ui_get(bulk, run_id=[sweep_ids[0], sweep_ids[1]], metric_key="acc")),
        key=lambda point: point[2],
    ),
    "no_runs": ui_get(bulk, metric_key="loss"),
    "no_key": ui_get(bulk, run_id=[parent.info.run_id]),
    "too_many_runs": ui_get(bulk, run_id=[parent.info.run_id] * 101, metric_key="loss"),
}


def artifact_list(**params: Any) -> Any:
    body = ui_get("/artifacts/list", run_id=art.info.run_id, **params)
    if isinstance(body, dict):
        for file in body.get("files", []):
            if file["path"].endswith(".png"):
                file.pop("file_size")  # matplotlib's bytes differ between runs
    return body


out["ui_artifacts_list"] = {
    "root": artifact_list(),
    "notes": artifact_list(path="notes"),
    "sub": artifact_list(path="sub"),
    "a_file": artifact_list(path="config.json"),
    "parent_dir": artifact_list(path="../x"),
    "absolute": artifact_list(path="/etc"),
    "encoded_parent": artifact_list(path="%2e%2e/x"),
}

print(json.dumps(clean(out), sort_keys=True))
