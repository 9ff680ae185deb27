"""The Transformers callback against a real server, with a real `Trainer` training a tiny
model (built from its config: nothing downloaded) for a few steps on CPU."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from transformers.integrations.integration_utils import get_reporting_integration_callbacks

from tests.integrations.conftest import (
    crash_uncaught,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.run_binding import FAILURE_TAG
from trackboard.integrations.transformers import TrackboardCallback, metric_key

STEPS = 4
EVAL_EVERY = 2


class TinyConfig(transformers.PretrainedConfig):  # type: ignore[no-untyped-call]
    model_type = "trackboard-tiny"

    def __init__(self, width: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width = width


class TinyModel(transformers.PreTrainedModel):  # type: ignore[no-untyped-call]
    """A linear regressor; `fail_at` makes its n-th forward pass (counting evaluation's)
    raise, as a crash in the middle of training would."""

    config_class = TinyConfig

    def __init__(self, config: TinyConfig, fail_at: int | None = None) -> None:
        super().__init__(config)
        self.layer = torch.nn.Linear(config.width, 1)
        self.fail_at = fail_at
        self.calls = 0
        self.post_init()  # type: ignore[no-untyped-call]

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        if self.calls == self.fail_at:
            raise MemoryError("out of memory")
        return {"loss": torch.nn.functional.mse_loss(self.layer(features), labels)}


def _examples(count: int) -> list[dict[str, torch.Tensor]]:
    features = torch.rand(count, 2)
    return [{"features": x, "labels": x.sum(0, keepdim=True)} for x in features]


def _trainer(
    output_dir: Path,
    *,
    callbacks: list[transformers.TrainerCallback] | None = None,
    report_to: str = "none",
    evaluate: bool = True,
    fail_at: int | None = None,
) -> transformers.Trainer:
    """`STEPS` steps of batch 4, a log every step and, with `evaluate`, an evaluation every
    `EVAL_EVERY` steps."""
    args = transformers.TrainingArguments(
        output_dir=str(output_dir),
        report_to=report_to,
        run_name="tiny",
        learning_rate=0.01,
        max_steps=STEPS,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        logging_steps=1,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=EVAL_EVERY,
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    return transformers.Trainer(
        model=TinyModel(TinyConfig(width=2), fail_at=fail_at),
        args=args,
        train_dataset=_examples(16),
        eval_dataset=_examples(4) if evaluate else None,
        callbacks=callbacks,
    )


def test_report_to_trackboard_names_the_callback() -> None:
    callbacks = get_reporting_integration_callbacks(["trackboard"])  # type: ignore[no-untyped-call]
    assert callbacks == [TrackboardCallback]


def test_keys_follow_the_train_and_eval_prefixes() -> None:
    assert [metric_key(k) for k in ("loss", "eval_loss", "test_acc")] == [
        "train/loss",
        "eval/loss",
        "test/acc",
    ]


def test_training_logs_args_model_config_and_metrics_at_the_global_step(
    server_url: str, tmp_path: Path
) -> None:
    experiment = f"hf-{uuid.uuid4().hex[:8]}"
    callback = TrackboardCallback(experiment, system_metrics=False)
    _trainer(tmp_path, callbacks=[callback]).train()
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.name == "tiny"
    assert run.params["args.learning_rate"] == "0.01"
    assert run.params["args.max_steps"] == str(STEPS)
    assert run.params["model.width"] == "2"
    assert run.params["model.model_type"] == "trackboard-tiny"
    # Trainer logs the loss every step, the evaluation every EVAL_EVERY steps and its
    # closing summary (runtime, mean train loss) once, at the last step.
    assert history_steps(server_url, run.id, "train/loss") == list(range(1, STEPS + 1))
    assert run.metrics["train/loss"].count == STEPS
    assert history_steps(server_url, run.id, "train/learning_rate") == list(range(1, STEPS + 1))
    assert history_steps(server_url, run.id, "eval/loss") == [2, 4]
    assert run.metrics["eval/runtime"].count == STEPS // EVAL_EVERY
    assert history_steps(server_url, run.id, "train/train_loss") == [STEPS]
    assert run.metrics["train/train_runtime"].step == STEPS


def test_report_to_trackboard_logs_to_the_experiment_from_the_environment(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = f"hf-report-to-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TRACKBOARD_EXPERIMENT", experiment)
    trainer = _trainer(tmp_path, report_to="trackboard", evaluate=False)
    # Trainer made the callback itself, from the name alone.
    assert TrackboardCallback in [type(c) for c in trainer.callback_handler.callbacks]
    trainer.train()
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.name == "tiny"
    assert run.params["args.report_to"] == "['trackboard']"
    assert history_steps(server_url, run.id, "train/loss") == list(range(1, STEPS + 1))
    assert "eval/loss" not in run.metrics


def test_a_crash_during_training_marks_the_run_failed_with_the_message(
    server_url: str, tmp_path: Path
) -> None:
    experiment = f"hf-crash-{uuid.uuid4().hex[:8]}"
    callback = TrackboardCallback(experiment, system_metrics=False)
    trainer = _trainer(tmp_path, callbacks=[callback], evaluate=False, fail_at=3)
    crash = crash_uncaught(trainer.train)
    assert isinstance(crash, MemoryError)
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "MemoryError: out of memory"
    # Steps 1 and 2 were logged; the third forward pass crashed.
    assert history_steps(server_url, run.id, "train/loss") == [1, 2]
