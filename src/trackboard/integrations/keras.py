"""Keras 3: `TrackboardCallback` for `model.fit(callbacks=[...])`: fit's settings and the
optimizer's config as params, batch metrics (step = the batch across epochs) and epoch
metrics (step = the epoch). Works with every Keras backend."""

from __future__ import annotations

from typing import Any

import keras  # type: ignore[import-untyped]

from trackboard.client.run import Run
from trackboard.integrations.run_binding import RunBinding, RunOptions, numeric, params_of


class TrackboardCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """One run per `fit`: `batch/<metric>` every `log_every_n_batches` batches and
    `epoch/<metric>` (validation metrics as `epoch/val_<metric>`) at each epoch's end.

    `run` logs into a run you started (and finish) yourself; other keywords are
    `RunOptions` (tags, url, api_key, system_metrics, system_metrics_interval)."""

    def __init__(
        self,
        experiment: str | None = None,
        name: str | None = None,
        *,
        run: Run | None = None,
        log_every_n_batches: int = 1,
        **options: Any,
    ) -> None:
        super().__init__()
        if log_every_n_batches < 1:
            raise ValueError("log_every_n_batches must be at least 1")
        self._binding = RunBinding(RunOptions(experiment, name, **options), "keras", run)
        self._every = log_every_n_batches
        self._batches = 0

    @property
    def run(self) -> Run:
        return self._binding.run()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches = 0
        run = self._binding.run(name=getattr(self.model, "name", None))
        params: dict[str, Any] = {"fit": dict(self.params or {})}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            params["optimizer"] = optimizer.get_config()
        run.log_params(params_of(params))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = self._batches
        self._batches += 1
        if logs and step % self._every == 0:
            self._binding.run().log({f"batch/{k}": v for k, v in numeric(logs).items()}, step=step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs:
            self._binding.run().log({f"epoch/{k}": v for k, v in numeric(logs).items()}, step=epoch)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._binding.end()
