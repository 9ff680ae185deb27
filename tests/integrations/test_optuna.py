"""Optuna's callback: a run per trial in the study's experiment, the best one tagged."""

import uuid

import optuna
import pytest

from tests.integrations.conftest import experiment_runs, history_steps
from trackboard.integrations.optuna import BEST_TAG, TrackboardCallback

TRIALS = 4


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -10, 10)
    for step in range(3):
        trial.report(x * x + step, step)
    if trial.number == 2:
        raise ValueError("trial two breaks")
    return x * x


def test_each_trial_is_a_run_with_params_value_state_and_the_best_tagged(
    server_url: str,
) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        study_name=f"study-{uuid.uuid4().hex[:8]}", sampler=optuna.samplers.RandomSampler(3)
    )
    study.optimize(
        objective, n_trials=TRIALS, callbacks=[TrackboardCallback()], catch=(ValueError,)
    )
    runs = {
        int(r.tags["optuna.trial_number"]): r for r in experiment_runs(server_url, study.study_name)
    }
    assert sorted(runs) == list(range(TRIALS))
    assert runs[2].status == "FAILED"
    assert runs[2].tags["optuna.state"] == "FAIL"
    for number, run in runs.items():
        trial = study.trials[number]
        assert run.params["x"] == str(trial.params["x"])
        assert history_steps(server_url, run.id, "intermediate_value") == [0, 1, 2]
        if number != 2:
            assert run.status == "FINISHED"
            assert run.metrics["value"].value == pytest.approx(trial.value)
    best = [n for n, run in runs.items() if run.tags.get(BEST_TAG) == "true"]
    assert best == [study.best_trial.number]
