"""LightGBM: `TrackboardCallback` for `lightgbm.train` and the scikit-learn estimators
(`callbacks=[...]`): the training parameters, each validation set's metrics at every
iteration, and feature importance as a table when training ends."""

from __future__ import annotations

from typing import Any

import lightgbm

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, params_of


def importance_rows(booster: lightgbm.Booster) -> list[dict[str, Any]]:
    """One row per feature: how often it splits and the gain its splits bring."""
    names = booster.feature_name()
    splits = booster.feature_importance(importance_type="split")
    gains = booster.feature_importance(importance_type="gain")
    return [
        {"feature": name, "split": float(split), "gain": float(gain)}
        for name, split, gain in zip(names, splits, gains, strict=True)
    ]


class TrackboardCallback:
    """Logs one run per training: params at the first iteration, `<valid set>/<metric>`
    at each iteration (step = the iteration), then `feature_importance` as a table.

    LightGBM tells callbacks nothing when early stopping ends training before its last
    iteration: call `finish()` after `lightgbm.train` returns (it is harmless otherwise).
    `run` logs into a run you started (and finish) yourself; other keywords are
    `RunOptions` (tags, url, api_key, system_metrics, system_metrics_interval)."""

    # After LightGBM's own recorders (10-20), before early stopping (30), which raises.
    order = 25
    before_iteration = False

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        *,
        run: Run | None = None,
        log_importance: bool = True,
        **options: Any,
    ) -> None:
        self._binding = RunBinding(RunOptions(experiment, name, **options), "lightgbm", run)
        self._log_importance = log_importance
        self._model: lightgbm.Booster | None = None
        self._params_logged = False

    @property
    def run(self) -> Run:
        return self._binding.run()

    def __call__(self, env: lightgbm.callback.CallbackEnv) -> None:
        run = self._binding.run()
        if not self._params_logged:
            run.log_params(params_of(env.params))
            self._params_logged = True
        if isinstance(env.model, lightgbm.Booster):
            self._model = env.model
        metrics: dict[str, float] = {}
        for result in env.evaluation_result_list or []:
            # (set, metric, value, higher is better) or, under lightgbm.cv, (…, std).
            metrics[f"{result[0]}/{result[1]}"] = float(result[2])
        if metrics:
            run.log(metrics, step=env.iteration)
        if env.iteration + 1 >= env.end_iteration:
            self.finish()

    def finish(self) -> None:
        """Logs the feature importance of the trained booster and ends the run."""
        if not self._binding.started:
            return
        if self._log_importance and self._model is not None:
            self._binding.run().log_table("feature_importance", importance_rows(self._model))
        self._model = None
        self._params_logged = False
        self._binding.end()
