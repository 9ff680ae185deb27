"""The Keras 3 callback (torch backend) against a real server: fit settings and optimizer
config, batch and epoch metrics at their steps, status on success and crash."""

import os
import uuid

import numpy as np
import pytest

from tests.integrations.conftest import (
    crash_uncaught,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.run_binding import FAILURE_TAG

assert os.environ["KERAS_BACKEND"] == "torch"  # set by conftest before Keras is imported

import keras  # noqa: E402

from trackboard.integrations.keras import TrackboardCallback  # noqa: E402

# Keras's torch backend hands numpy an old-style __array__ (a Keras matter, not ours).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

EPOCHS = 2
BATCHES = 4  # 16 samples in batches of 4


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse", metrics=["mae"])
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    features = np.random.default_rng(3).random((16, 2)).astype("float32")
    return features, features.sum(axis=1, keepdims=True)


def test_fit_logs_optimizer_config_batch_and_epoch_metrics(server_url: str) -> None:
    experiment = f"keras-{uuid.uuid4().hex[:8]}"
    features, target = _data()
    _model().fit(
        features,
        target,
        batch_size=4,
        epochs=EPOCHS,
        validation_data=(features, target),
        verbose=0,
        callbacks=[TrackboardCallback(experiment, system_metrics=False)],
    )
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.params["optimizer.name"] == "sgd"
    assert float(run.params["optimizer.learning_rate"]) == np.float32(0.05)
    assert run.params["fit.epochs"] == str(EPOCHS)
    assert history_steps(server_url, run.id, "batch/loss") == list(range(EPOCHS * BATCHES))
    assert history_steps(server_url, run.id, "epoch/val_mae") == list(range(EPOCHS))
    assert run.metrics["epoch/loss"].count == EPOCHS


def test_a_crash_during_fit_marks_the_run_failed_with_the_message(server_url: str) -> None:
    experiment = f"keras-crash-{uuid.uuid4().hex[:8]}"
    features, target = _data()

    class Breaks(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            if batch == 2:
                raise OverflowError("weights blew up")

    crash = crash_uncaught(
        lambda: _model().fit(
            features,
            target,
            batch_size=4,
            epochs=1,
            verbose=0,
            callbacks=[TrackboardCallback(experiment, system_metrics=False), Breaks()],
        )
    )
    assert isinstance(crash, OverflowError)
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "OverflowError: weights blew up"
    assert run.metrics["batch/loss"].count == 3
