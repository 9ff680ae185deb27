"""Autolog with default settings for scikit-learn, XGBoost and LightGBM; prints what the
client then reads back, as JSON.

Run against MLflow's own server and against Trackboard by `test_autolog.py`, which
compares the two outputs. Ids, times and environment-dependent files are dropped here;
metric values stay (tiny fixed data, fixed seeds: both runs compute the same numbers).
"""

import json
import math
import sys
import warnings
from typing import Any

import lightgbm
import mlflow
import numpy
import xgboost
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

warnings.filterwarnings("ignore")


def default_requirements(*_: Any, fallback: list[str] | None = None, **__: Any) -> list[str]:
    return fallback or []


# MLflow infers a model's pip requirements by loading the saved model in a fresh Python
# (~20 s a model on CI's machine). That happens in the client only: the server sees the
# same requests either way, with MLflow's default requirements in requirements.txt.
mlflow.models.infer_pip_requirements = default_requirements
PREFIX = sys.argv[1]
client = MlflowClient()
features = numpy.random.RandomState(0).rand(40, 3)
labels = (features[:, 0] + features[:, 1] > 1).astype(int)


def rounded(value: float) -> float | str:
    return "nan" if math.isnan(value) else round(value, 6)


def model_view(model_id: str) -> dict[str, Any]:
    model = client.get_logged_model(model_id)
    files = [f.path for f in client.list_logged_model_artifacts(model_id)]
    return {
        "name": model.name,
        "status": str(model.status),
        "params": model.params,
        "tags": sorted(k for k in model.tags if not k.startswith("mlflow.source.git")),
        "metrics": sorted(
            (m.key, rounded(m.value), m.step, m.dataset_name) for m in model.metrics or []
        ),
        # The pickle's bytes and the requirements depend on the environment; names do not.
        "files": sorted(files),
    }


def run_view(run_id: str, model_uri_suffix: str = "model") -> dict[str, Any]:
    run = client.get_run(run_id)
    histories = {
        key: [(m.step, rounded(m.value)) for m in client.get_metric_history(run_id, key)]
        for key in run.data.metrics
    }
    assert run.inputs is not None
    assert run.outputs is not None
    outputs = run.outputs.model_outputs
    return {
        "params": run.data.params,
        "metrics": {key: rounded(value) for key, value in run.data.metrics.items()},
        "history_lengths": {key: len(points) for key, points in histories.items()},
        "histories": {key: points for key, points in histories.items() if len(points) > 1},
        "tags": sorted(k for k in run.data.tags if not k.startswith("mlflow.source.git")),
        "inputs": [
            (d.dataset.name, d.dataset.source_type, bool(d.dataset.schema), [t.key for t in d.tags])
            for d in run.inputs.dataset_inputs
        ],
        "model": model_view(outputs[0].model_id) if outputs else None,
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
    }


out: dict[str, Any] = {}
mlflow.set_experiment(f"{PREFIX}-autolog")

mlflow.sklearn.autolog()
with mlflow.start_run() as run:
    LogisticRegression(max_iter=50).fit(features, labels)
out["sklearn"] = run_view(run.info.run_id)
loaded = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
outputs = client.get_run(run.info.run_id).outputs
assert outputs is not None
model_id = outputs.model_outputs[0].model_id
by_id = mlflow.sklearn.load_model(f"models:/{model_id}")
out["sklearn_predictions"] = [
    loaded.predict(features[:5]).tolist(),
    by_id.predict(features[:5]).tolist(),
]
mlflow.sklearn.autolog(disable=True)

mlflow.xgboost.autolog()
with mlflow.start_run() as run:
    xgboost.train(
        {"objective": "binary:logistic", "max_depth": 2, "seed": 0, "nthread": 1},
        xgboost.DMatrix(features, label=labels),
        num_boost_round=5,
        evals=[(xgboost.DMatrix(features, label=labels), "train")],
    )
out["xgboost"] = run_view(run.info.run_id)
booster = mlflow.xgboost.load_model(f"runs:/{run.info.run_id}/model")
out["xgboost_predictions"] = [
    round(float(p), 6) for p in booster.predict(xgboost.DMatrix(features[:5]))
]
mlflow.xgboost.autolog(disable=True)

mlflow.lightgbm.autolog()
with mlflow.start_run() as run:
    train = lightgbm.Dataset(features, label=labels)
    lightgbm.train(
        {"objective": "binary", "num_leaves": 3, "verbose": -1, "seed": 0, "num_threads": 1},
        train,
        num_boost_round=5,
        valid_sets=[train],
        valid_names=["train"],
    )
out["lightgbm"] = run_view(run.info.run_id)
lgb_model = mlflow.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
out["lightgbm_predictions"] = [round(float(p), 6) for p in lgb_model.predict(features[:5])]
mlflow.lightgbm.autolog(disable=True)

print(json.dumps(out, sort_keys=True))
