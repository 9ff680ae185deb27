"""LightGBM's callback against a real server: params, per-iteration metrics, status."""

import uuid

import lightgbm
import numpy as np

from tests.integrations.conftest import (
    artifact_paths,
    crash_uncaught,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.lightgbm import TrackboardCallback
from trackboard.integrations.run_binding import FAILURE_TAG

ROUNDS = 4
QUIET = {"verbose": -1, "min_data_in_leaf": 2, "num_leaves": 4}


def _data() -> lightgbm.Dataset:
    rng = np.random.default_rng(1)
    features = rng.random((64, 3))
    return lightgbm.Dataset(features, label=features[:, 1], feature_name=["a", "b", "c"])


def test_training_logs_params_each_iterations_metrics_and_finishes(server_url: str) -> None:
    experiment = f"lgb-{uuid.uuid4().hex[:8]}"
    data = _data()
    lightgbm.train(
        {**QUIET, "objective": "regression", "metric": ["l2", "l1"], "learning_rate": 0.2},
        data,
        num_boost_round=ROUNDS,
        valid_sets=[data],
        valid_names=["train"],
        callbacks=[TrackboardCallback(experiment, system_metrics=False)],
    )
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.params["learning_rate"] == "0.2"
    assert run.params["objective"] == "regression"
    assert run.metrics["train/l2"].count == ROUNDS
    assert history_steps(server_url, run.id, "train/l1") == list(range(ROUNDS))


def test_a_crash_during_training_marks_the_run_failed_with_the_message(
    server_url: str,
) -> None:
    experiment = f"lgb-crash-{uuid.uuid4().hex[:8]}"
    data = _data()

    calls = 0

    def broken_metric(preds: np.ndarray, dataset: lightgbm.Dataset) -> tuple[str, float, bool]:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("no more trees")
        return "constant", 1.0, False

    callback = TrackboardCallback(experiment, system_metrics=False)
    crash = crash_uncaught(
        lambda: lightgbm.train(
            {**QUIET, "metric": "None"},
            data,
            5,
            valid_sets=[data],
            feval=broken_metric,
            callbacks=[callback],
        )
    )
    assert isinstance(crash, RuntimeError)
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "RuntimeError: no more trees"
    assert [m.count for k, m in run.metrics.items() if k.endswith("/constant")] == [2]


def test_feature_importance_is_logged_as_a_table(server_url: str) -> None:
    experiment = f"lgb-importance-{uuid.uuid4().hex[:8]}"
    lightgbm.train(
        QUIET, _data(), 3, callbacks=[TrackboardCallback(experiment, system_metrics=False)]
    )
    (run,) = experiment_runs(server_url, experiment)
    paths = artifact_paths(server_url, run.id)
    assert {p for p in paths if "feature_importance" in p}, paths
