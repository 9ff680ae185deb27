"""The Transformers callback against a real server, driven through Transformers' own
`CallbackHandler` (what `Trainer` dispatches every event through) with a real model,
`TrainerState` and `TrainerControl`.

`Trainer` and `TrainingArguments` themselves need `accelerate`, which the dev lock does
not hold: the arguments here are a stand-in with the two things the callback reads from
them (`to_dict()` and `run_name`), and the events are sent in Trainer's order."""

import uuid
from dataclasses import asdict, dataclass
from typing import Any

import torch
import transformers
from transformers.integrations.integration_utils import get_reporting_integration_callbacks
from transformers.trainer_callback import CallbackHandler

from tests.integrations.conftest import (
    crash_uncaught,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.run_binding import FAILURE_TAG
from trackboard.integrations.transformers import TrackboardCallback, metric_key

STEPS = 4


class TinyConfig(transformers.PretrainedConfig):  # type: ignore[misc]
    model_type = "trackboard-tiny"

    def __init__(self, width: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width = width


class TinyModel(transformers.PreTrainedModel):  # type: ignore[misc]
    config_class = TinyConfig

    def __init__(self, config: TinyConfig) -> None:
        super().__init__(config)
        self.layer = torch.nn.Linear(config.width, 1)
        self.post_init()


@dataclass
class Arguments:
    """The part of `TrainingArguments` the callback reads."""

    run_name: str
    learning_rate: float = 0.01
    max_steps: int = STEPS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _train(callback: TrackboardCallback, fail_at: int | None = None) -> None:
    """The events `Trainer.train` sends: begin, a log per step (loss), an evaluation log
    every 2 steps, the closing summary log, end."""
    model = TinyModel(TinyConfig(width=2))
    handler = CallbackHandler([callback], model, None, None, None)
    args, state = Arguments(run_name="tiny"), transformers.TrainerState()
    control = transformers.TrainerControl()
    handler.on_train_begin(args, state, control)
    for step in range(1, STEPS + 1):
        if step == fail_at:
            raise MemoryError("out of memory")
        state.global_step = step
        handler.on_log(args, state, control, {"loss": 1.0 / step, "learning_rate": 0.01})
        if step % 2 == 0:
            handler.on_log(args, state, control, {"eval_loss": 2.0 / step, "epoch": 1.0})
    handler.on_log(args, state, control, {"train_runtime": 1.5, "train_loss": 0.5})
    handler.on_train_end(args, state, control)


def test_report_to_trackboard_names_the_callback() -> None:
    assert get_reporting_integration_callbacks(["trackboard"]) == [TrackboardCallback]


def test_keys_follow_the_train_and_eval_prefixes() -> None:
    assert [metric_key(k) for k in ("loss", "eval_loss", "test_acc")] == [
        "train/loss",
        "eval/loss",
        "test/acc",
    ]


def test_training_logs_args_model_config_and_metrics_at_the_global_step(
    server_url: str,
) -> None:
    experiment = f"hf-{uuid.uuid4().hex[:8]}"
    _train(TrackboardCallback(experiment, system_metrics=False))
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FINISHED"
    assert run.name == "tiny"
    assert run.params["args.learning_rate"] == "0.01"
    assert run.params["model.width"] == "2"
    assert run.params["model.model_type"] == "trackboard-tiny"
    assert history_steps(server_url, run.id, "train/loss") == list(range(1, STEPS + 1))
    assert history_steps(server_url, run.id, "eval/loss") == [2, 4]
    assert run.metrics["train/train_runtime"].step == STEPS


def test_a_crash_during_training_marks_the_run_failed_with_the_message(
    server_url: str,
) -> None:
    experiment = f"hf-crash-{uuid.uuid4().hex[:8]}"
    callback = TrackboardCallback(experiment, system_metrics=False)
    crash = crash_uncaught(lambda: _train(callback, fail_at=3))
    assert isinstance(crash, MemoryError)
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "MemoryError: out of memory"
    assert run.metrics["train/loss"].count == 2
