"""MLflow 3's autolog with default settings stores the same params, metrics (per iteration
too), tags, dataset inputs and logged model in Trackboard as in MLflow's server, and the
model loads back (`runs:/<run>/model` and `models:/<model id>`)."""

import uuid
from pathlib import Path

import pytest

from tests.mlflow_compat.servers import Server
from tests.mlflow_compat.test_differential import differences, script_output, start_script

# Importing MLflow, scikit-learn, XGBoost and LightGBM and logging three models with their
# plots takes about a minute and a half on CI's machine, both servers at once.
pytestmark = pytest.mark.timeout(900)

SCRIPT = Path(__file__).with_name("autolog_script.py")


def test_autolog_stores_what_mlflow_stores_and_the_models_load(
    mlflow_reference: Server, trackboard: Server
) -> None:
    prefix = f"autolog-{uuid.uuid4().hex[:8]}"
    reference_run = start_script(mlflow_reference, prefix, SCRIPT)
    our_run = start_script(trackboard, prefix, SCRIPT)
    expected = script_output(reference_run, mlflow_reference, timeout_s=600)
    actual = script_output(our_run, trackboard, timeout_s=600)
    assert differences(expected, actual) == []
    # What autolog logged is really there, not two empty answers that agree.
    sklearn = actual["sklearn"]
    assert sklearn["params"]["max_iter"] == "50"
    assert "training_accuracy_score" in sklearn["metrics"]
    assert sklearn["model"]["status"] == "READY"
    assert "MLmodel" in sklearn["model"]["files"]
    assert (
        "training_accuracy_score",
        sklearn["metrics"]["training_accuracy_score"],
        0,
        "dataset",
    ) in [tuple(metric) for metric in sklearn["model"]["metrics"]]
    assert sklearn["inputs"]
    assert sklearn["inputs"][0][2]  # the dataset's schema came back
    predictions_by_run, predictions_by_model = actual["sklearn_predictions"]
    assert predictions_by_run == predictions_by_model
    assert len(predictions_by_run) == 5
    for framework, key in (("xgboost", "train-logloss"), ("lightgbm", "train-binary_logloss")):
        assert actual[framework]["history_lengths"][key] == 5  # one point per boosting round
        assert actual[framework]["model"]["status"] == "READY"
        assert len(actual[f"{framework}_predictions"]) == 5
