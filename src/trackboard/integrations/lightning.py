"""PyTorch Lightning: `TrackboardLogger`, a `lightning.pytorch` logger. Hyperparameters as
params, metrics at the trainer's global step, checkpoints as artifacts when asked; under
DDP only rank 0 logs."""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, numeric, params_of


def checkpoint_paths(callback: ModelCheckpoint) -> list[str]:
    """The files a checkpoint callback keeps: its top k, its best and its last."""
    paths = [*callback.best_k_models, callback.best_model_path, callback.last_model_path]
    return [p for p in dict.fromkeys(paths) if p and Path(p).is_file()]


class TrackboardLogger(Logger):
    """One run per trainer entry point (`fit`, `validate`, `test`): Lightning finalizes its
    loggers after each. A crash ends the run FAILED with the exception's message, Ctrl-C
    KILLED.

    `log_checkpoints`: False (the default) logs none, True logs the kept checkpoints when
    training succeeds, "all" logs each checkpoint as it is saved. `run` logs into a run
    you started (and finish) yourself; other keywords are `RunOptions` (tags, url,
    api_key, system_metrics, system_metrics_interval)."""

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        *,
        run: Run | None = None,
        log_checkpoints: bool | Literal["all"] = False,
        **options: Any,
    ) -> None:
        super().__init__()
        self._binding = RunBinding(RunOptions(experiment, name, **options), "lightning", run)
        self._log_checkpoints = log_checkpoints
        self._checkpoint_callbacks: list[ModelCheckpoint] = []
        self._logged_checkpoints: dict[str, float] = {}

    @property
    def name(self) -> str:
        return "trackboard"

    @property
    def version(self) -> str:
        return self._binding.run().id if self._binding.started else ""

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        """The Trackboard run (on ranks other than 0, a stand-in that does nothing)."""
        return self._binding.run()

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self._binding.run().log_params(params_of(values))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        self._binding.run().log(numeric(metrics), step=step)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Model graphs are not stored: a no-op, so that `log_graph=True` does no harm."""

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if self._log_checkpoints == "all":
            self._send_checkpoints(checkpoint_callback)
        elif self._log_checkpoints and checkpoint_callback not in self._checkpoint_callbacks:
            self._checkpoint_callbacks.append(checkpoint_callback)

    def _send_checkpoints(self, callback: ModelCheckpoint) -> None:
        run = self._binding.run()
        for path in checkpoint_paths(callback):
            modified = Path(path).stat().st_mtime
            if self._logged_checkpoints.get(path) == modified:
                continue
            run.log_artifact(path, name=f"checkpoints/{Path(path).name}")
            self._logged_checkpoints[path] = modified

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Lightning calls this with "success", or with "failed" from inside its exception
        handler: the exception being handled is the crash (KeyboardInterrupt for Ctrl-C)."""
        if not self._binding.started:
            return
        if status == "success":
            for callback in self._checkpoint_callbacks:
                self._send_checkpoints(callback)
            self._binding.end()
        else:
            crash = sys.exc_info()[1] or RuntimeError(f"training ended with status {status}")
            self._binding.end(crash)
        self._checkpoint_callbacks.clear()
