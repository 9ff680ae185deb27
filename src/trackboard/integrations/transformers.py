"""Hugging Face Transformers: `TrackboardCallback` for `Trainer`: the training arguments and
the model's config as params, train and eval metrics at the global step.

Importing this module also registers `report_to="trackboard"` with Transformers, so
`TrainingArguments(report_to="trackboard")` adds the callback (experiment from
`TRACKBOARD_EXPERIMENT`, run name from `run_name`)."""

from __future__ import annotations

from typing import Any

import transformers
from transformers.integrations import integration_utils

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, numeric, params_of

REPORT_TO_NAME = "trackboard"
# Trainer prefixes what `evaluate` and `predict` log; everything else is training.
_PREFIXES = ("eval_", "test_")


def metric_key(key: str) -> str:
    """`eval_loss` → `eval/loss`, `test_acc` → `test/acc`, `loss` → `train/loss`."""
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return f"{prefix[:-1]}/{key[len(prefix) :]}"
    return f"train/{key}"


class TrackboardCallback(transformers.TrainerCallback):
    """One run per `trainer.train()` (a later standalone `evaluate()` makes its own), logged
    from the main process only.

    `run` logs into a run you started (and finish) yourself; other keywords are
    `RunOptions` (tags, url, api_key, system_metrics, system_metrics_interval)."""

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        *,
        run: Run | None = None,
        **options: Any,
    ) -> None:
        self._binding = RunBinding(RunOptions(experiment, name, **options), "transformers", run)
        self._params_logged = False

    @property
    def run(self) -> Run:
        return self._binding.run()

    def _setup(self, args: Any, model: Any) -> Run:
        run = self._binding.run(name=getattr(args, "run_name", None))
        if not self._params_logged:
            params: dict[str, Any] = {"args": args.to_dict()}
            config = getattr(model, "config", None)
            if config is not None and hasattr(config, "to_dict"):
                params["model"] = config.to_dict()
            run.log_params(params_of(params))
            self._params_logged = True
        return run

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._setup(args, kwargs.get("model"))

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or not logs:
            return
        run = self._setup(args, kwargs.get("model"))
        run.log({metric_key(k): v for k, v in numeric(logs).items()}, step=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self._binding.end()
            self._params_logged = False


def register_report_to() -> None:
    """Lets `TrainingArguments(report_to="trackboard")` find the callback."""
    integration_utils.INTEGRATION_TO_CALLBACK[REPORT_TO_NAME] = TrackboardCallback


register_report_to()
