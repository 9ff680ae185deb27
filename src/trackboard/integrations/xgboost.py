"""XGBoost: `TrackboardCallback` for `xgboost.train` and the scikit-learn estimators
(`callbacks=[...]`): the booster's training parameters, each eval set's metrics at every
boosting round, and feature importance as a table at the end."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import xgboost

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, params_of

IMPORTANCE_TYPES = ("weight", "gain", "cover")


def booster_params(booster: xgboost.Booster) -> dict[str, str]:
    """The training parameters in the booster's saved config, by their plain names
    (`max_depth`, `eta`, `objective` …): xgboost nests them under `*_param` sections."""
    found: dict[str, str] = {}

    def walk(node: Any, section: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    walk(value, key)
                elif section.endswith("_param"):
                    found[key] = str(value)
        elif isinstance(node, list):
            for item in node:
                walk(item, section)

    walk(json.loads(booster.save_config()), "")
    return found


def importance_rows(booster: xgboost.Booster) -> list[dict[str, Any]]:
    """One row per feature the trees use: its weight, gain and cover."""
    scores = {kind: booster.get_score(importance_type=kind) for kind in IMPORTANCE_TYPES}
    features = sorted(set().union(*scores.values()))
    return [
        {"feature": feature, **{kind: _total(scores[kind].get(feature, 0.0)) for kind in scores}}
        for feature in features
    ]


def _total(score: float | list[float]) -> float:
    # Multi-target boosters score a feature once per target.
    return float(sum(score)) if isinstance(score, list) else float(score)


class TrackboardCallback(xgboost.callback.TrainingCallback):
    """Logs one run per training: params at the start, `<eval set>/<metric>` at each round
    (step = the round), `feature_importance` as a table after training.

    `params` adds (or overrides) what the booster's config says; `run` logs into a run you
    started (and finish) yourself; other keywords are `RunOptions` (tags, url, api_key,
    system_metrics, system_metrics_interval)."""

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        run: Run | None = None,
        log_importance: bool = True,
        **options: Any,
    ) -> None:
        super().__init__()
        self._binding = RunBinding(RunOptions(experiment, name, **options), "xgboost", run)
        self._params = dict(params or {})
        self._log_importance = log_importance

    @property
    def run(self) -> Run:
        return self._binding.run()

    def before_training(self, model: Any) -> Any:
        run = self._binding.run()
        if isinstance(model, xgboost.Booster):
            run.log_params({**booster_params(model), **params_of(self._params)})
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        latest = {
            f"{data}/{metric}": values[-1]
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
            if values
        }
        if latest:
            # Under xgboost.cv a value is a (mean, std) pair: the mean is the series.
            self._binding.run().log(
                {k: v[0] if isinstance(v, tuple) else v for k, v in latest.items()}, step=epoch
            )
        return False

    def after_training(self, model: Any) -> Any:
        if self._log_importance and isinstance(model, xgboost.Booster):
            rows = importance_rows(model)
            if rows:
                self._binding.run().log_table("feature_importance", rows)
        self._binding.end()
        return model
