"""XGBoost's callback against a real server: params, per-round eval metrics, status."""

import time
import uuid

import numpy as np
import xgboost

from tests.integrations.conftest import (
    artifact_paths,
    crash_uncaught,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.run_binding import FAILURE_TAG
from trackboard.integrations.xgboost import TrackboardCallback

ROUNDS = 5


def _data() -> xgboost.DMatrix:
    rng = np.random.default_rng(0)
    features = rng.random((64, 3))
    return xgboost.DMatrix(features, label=features[:, 0] * 2, feature_names=["a", "b", "c"])


def test_training_logs_params_each_rounds_eval_metrics_and_finishes(server_url: str) -> None:
    experiment = f"xgb-{uuid.uuid4().hex[:8]}"
    data = _data()
    callback = TrackboardCallback(experiment, "tiny", system_metrics=False)
    xgboost.train(
        {"max_depth": 2, "eta": 0.5, "eval_metric": ["rmse", "mae"]},
        data,
        num_boost_round=ROUNDS,
        evals=[(data, "train")],
        callbacks=[callback],
        verbose_eval=False,
    )
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.name == "tiny"
    assert run.params["max_depth"] == "2"
    assert run.params["eta"].startswith("0.5")
    assert set(run.metrics) >= {"train/rmse", "train/mae"}
    assert run.metrics["train/rmse"].count == ROUNDS
    assert history_steps(server_url, run.id, "train/mae") == list(range(ROUNDS))


def test_a_crash_during_training_marks_the_run_failed_with_the_message(
    server_url: str,
) -> None:
    experiment = f"xgb-crash-{uuid.uuid4().hex[:8]}"
    data = _data()

    def broken_metric(predt: np.ndarray, dtrain: xgboost.DMatrix) -> tuple[str, float]:
        raise ValueError("metric exploded")

    callback = TrackboardCallback(experiment, system_metrics=False)
    crash = crash_uncaught(
        lambda: xgboost.train(
            {"max_depth": 2},
            data,
            3,
            evals=[(data, "train")],
            custom_metric=broken_metric,
            callbacks=[callback],
            verbose_eval=False,
        )
    )
    assert isinstance(crash, ValueError)
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "ValueError: metric exploded"


def test_feature_importance_is_logged_as_a_table(server_url: str) -> None:
    experiment = f"xgb-importance-{uuid.uuid4().hex[:8]}"
    data = _data()
    xgboost.train(
        {"max_depth": 2}, data, 3, callbacks=[TrackboardCallback(experiment, system_metrics=False)]
    )
    (run,) = experiment_runs(server_url, experiment)
    paths = artifact_paths(server_url, run.id)
    assert {p for p in paths if "feature_importance" in p}, paths


class SlowRounds(xgboost.callback.TrainingCallback):  # type: ignore[misc]
    def after_iteration(self, model: object, epoch: int, evals_log: object) -> bool:
        time.sleep(0.1)
        return False


def test_system_metrics_are_sampled_while_training(server_url: str) -> None:
    experiment = f"xgb-system-{uuid.uuid4().hex[:8]}"
    callback = TrackboardCallback(experiment, system_metrics_interval=0.1, log_importance=False)
    xgboost.train({"max_depth": 2}, _data(), 6, callbacks=[callback, SlowRounds()])
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.metrics["system/cpu_percent"].count >= 2
