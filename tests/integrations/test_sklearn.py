"""scikit-learn: an estimator's params and cross-validation scores in one run."""

import uuid

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge

from tests.integrations.conftest import experiment_runs, finished_run, history_steps
from trackboard.integrations.run_binding import FAILURE_TAG, RunOptions
from trackboard.integrations.sklearn import log_cross_validation

FOLDS = 3


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    features = rng.random((30, 2))
    return features, features @ np.array([1.0, -2.0])


def test_cross_validation_logs_params_and_each_folds_scores(server_url: str) -> None:
    experiment = f"sk-{uuid.uuid4().hex[:8]}"
    features, target = _data()
    results = log_cross_validation(
        Ridge(alpha=0.5),
        features,
        target,
        experiment=experiment,
        cv=FOLDS,
        options=RunOptions(system_metrics=False),
    )
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.name == "Ridge"
    assert run.params["alpha"] == "0.5"
    assert run.params["estimator"] == "Ridge"
    assert history_steps(server_url, run.id, "cv/test_score") == list(range(FOLDS))
    assert run.metrics["cv/test_score_mean"].value == pytest.approx(results["test_score"].mean())
    assert "cv/fit_time" in run.metrics


class Exploding(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    def fit(self, X: np.ndarray, y: np.ndarray) -> "Exploding":  # noqa: N803
        raise ArithmeticError("cannot fit")


def test_an_estimator_that_raises_marks_the_run_failed_with_the_message(
    server_url: str,
) -> None:
    experiment = f"sk-crash-{uuid.uuid4().hex[:8]}"
    features, target = _data()
    with pytest.raises(ArithmeticError, match="cannot fit"):
        log_cross_validation(
            Exploding(),
            features,
            target,
            experiment=experiment,
            cv=FOLDS,
            error_score="raise",
            options=RunOptions(system_metrics=False),
        )
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "ArithmeticError: cannot fit"
