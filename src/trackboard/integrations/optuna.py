"""Optuna: `TrackboardCallback` for `study.optimize(callbacks=[...])`: one run per finished
trial (params, objective value, intermediate values at their steps, state) in the study's
experiment, the best trial so far tagged `optuna.best=true`."""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from trackboard.client.settings import ClientSettings
from trackboard.client.transport import TrackboardError, Transport
from trackboard.integrations.run_binding import RunBinding, RunOptions, params_of

logger = logging.getLogger("trackboard")

BEST_TAG = "optuna.best"
# A pruned trial was stopped on purpose, by the pruner: it did not fail.
RUN_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "KILLED",
    TrialState.FAIL: "FAILED",
}


def objective_metrics(study: optuna.Study, trial: FrozenTrial) -> dict[str, float]:
    """`value` for one objective; `value.<name or index>` for several."""
    if trial.values is None:
        return {}
    if len(trial.values) == 1:
        return {"value": trial.values[0]}
    names = study.metric_names or [str(i) for i in range(len(trial.values))]
    return {f"value.{name}": value for name, value in zip(names, trial.values, strict=True)}


class TrackboardCallback:
    """Makes a run when each trial ends: the trial's params, its intermediate values
    (`intermediate_value` at the reported steps), its objective value(s), and tags for
    its number, state and study. The experiment is the study's name unless given.

    Trials run in the objective, not in this callback, so their runs carry no system
    metrics; a trial that raised is FAILED only when `optimize(catch=...)` caught it
    (otherwise Optuna raises before calling callbacks). Keywords are `RunOptions` (tags,
    url, api_key)."""

    def __init__(self, experiment: str | None = None, **options: Any) -> None:
        self._experiment = experiment
        self._options = options
        self._best: tuple[str, int] | None = None  # (run id, trial number)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state not in RUN_STATUS:
            return
        options = RunOptions(
            self._experiment or study.study_name,
            f"trial-{trial.number}",
            **{"system_metrics": False, **self._options},
        )
        binding = RunBinding(options, "optuna", None)
        run = binding.run()
        run.set_tags(
            {
                "optuna.study": study.study_name,
                "optuna.trial_number": str(trial.number),
                "optuna.state": trial.state.name,
            }
        )
        run.log_params(params_of(trial.params))
        for step, value in sorted(trial.intermediate_values.items()):
            run.log({"intermediate_value": value}, step=step)
        metrics = objective_metrics(study, trial)
        if metrics:
            run.log(metrics, step=max(trial.intermediate_values, default=0))
        if self._is_new_best(study, trial):
            run.set_tags({BEST_TAG: "true"})
            self._untag_best()
            self._best = (run.id, trial.number)
        run.finish(RUN_STATUS[trial.state])

    @staticmethod
    def _is_new_best(study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.state != TrialState.COMPLETE or len(study.directions) != 1:
            return False
        try:
            return bool(study.best_trial.number == trial.number)
        except ValueError:  # no completed trial yet
            return False

    def _untag_best(self) -> None:
        """The previous best trial's run is finished: its tag is changed on the server."""
        if self._best is None:
            return
        settings = ClientSettings.from_env(
            url=self._options.get("url"), api_key=self._options.get("api_key")
        )
        transport = Transport(settings.url, settings.api_key, settings.request_timeout)
        try:
            transport.request("POST", f"/runs/{self._best[0]}/tags", {"tags": {BEST_TAG: "false"}})
        except TrackboardError as exc:
            logger.warning("trackboard: could not untag the previous best trial: %s", exc)
        finally:
            transport.close()
