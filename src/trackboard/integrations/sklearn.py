"""scikit-learn: log an estimator's params, and cross-validate it into a run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, params_of


def log_estimator_params(run: Run, estimator: Any) -> None:
    """The estimator's `get_params()` (nested estimators' too, as `step__param`), with its
    class under `estimator`."""
    params = {
        key: value
        for key, value in estimator.get_params(deep=True).items()
        # Nested estimators appear as their own params; their repr is not a setting.
        if not hasattr(value, "get_params")
    }
    run.log_params({"estimator": type(estimator).__name__, **params_of(params)})


def log_cross_validation(
    estimator: Any,
    X: Any,  # noqa: N803 - scikit-learn's name
    y: Any = None,
    *,
    experiment: str | None = None,
    name: str | None = None,
    run: Run | None = None,
    cv: Any = 5,
    scoring: Any = None,
    options: RunOptions | None = None,
    **cross_validate_args: Any,
) -> dict[str, Any]:
    """Runs `sklearn.model_selection.cross_validate` and logs, in one run, the estimator's
    params, each fold's scores and times (step = the fold) and their `_mean` and `_std`.

    Returns what `cross_validate` returned. The run ends FAILED (with the message) if the
    estimator raises, KILLED on Ctrl-C; `run` logs into a run you started (and finish)."""
    from sklearn.model_selection import cross_validate  # type: ignore[import-untyped]

    chosen = options or RunOptions()
    chosen = replace(chosen, experiment=experiment or chosen.experiment, name=name or chosen.name)
    binding = RunBinding(chosen, "sklearn", run)
    target = binding.run(name=type(estimator).__name__)
    try:
        log_estimator_params(target, estimator)
        target.log_params({"cv": str(cv), "scoring": str(scoring)})
        results: dict[str, Any] = cross_validate(
            estimator, X, y, cv=cv, scoring=scoring, **cross_validate_args
        )
        for key, values in results.items():
            if key == "estimator" or key == "indices":
                continue
            for fold, value in enumerate(values):
                target.log({f"cv/{key}": float(value)}, step=fold)
            target.log(
                {f"cv/{key}_mean": float(values.mean()), f"cv/{key}_std": float(values.std())},
                step=0,
            )
    except BaseException as exc:
        binding.end(exc)
        raise
    binding.end()
    return results
