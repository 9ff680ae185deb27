"""Lightning's logger against a real server: hyperparameters, metrics at the global step,
status on success, crash and Ctrl-C, rank 0 only, checkpoints as artifacts."""

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import lightning
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only

import trackboard
from tests.integrations.conftest import (
    artifact_paths,
    experiment_runs,
    finished_run,
    history_steps,
)
from trackboard.integrations.lightning import TrackboardLogger
from trackboard.integrations.run_binding import FAILURE_TAG

# Lightning warns about the tiny data loader (no workers, few batches), and its pytree code
# about a torch deprecation (a Lightning matter, not ours).
pytestmark = [
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.* is deprecated:FutureWarning"),
]

STEPS = 4


class Tiny(lightning.LightningModule):
    def __init__(
        self, lr: float = 0.1, fail_at: int | None = None, interrupt_at: int | None = None
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.global_step == self.hparams.fail_at:
            raise FloatingPointError("loss went NaN")
        if self.global_step == self.hparams.interrupt_at:
            raise KeyboardInterrupt
        features, target = batch
        loss = torch.nn.functional.mse_loss(self.layer(features), target)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    def train_dataloader(self) -> torch.utils.data.DataLoader[tuple[torch.Tensor, ...]]:
        generator = torch.Generator().manual_seed(0)
        features = torch.rand(16, 2, generator=generator)
        dataset = torch.utils.data.TensorDataset(features, features.sum(dim=1, keepdim=True))
        return torch.utils.data.DataLoader(dataset, batch_size=4)


def _trainer(logger: TrackboardLogger, **changes: object) -> lightning.Trainer:
    settings: dict[str, object] = {
        "max_steps": STEPS,
        "logger": logger,
        "log_every_n_steps": 1,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "accelerator": "cpu",
        **changes,
    }
    return lightning.Trainer(**settings)  # type: ignore[arg-type]


@pytest.fixture
def sigint_restored() -> Iterator[None]:
    """Lightning ignores Ctrl-C after handling one; the test process must not."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def _only_run(server_url: str, experiment: str) -> str:
    (run,) = experiment_runs(server_url, experiment)
    return run.id


def test_fit_logs_hyperparameters_and_metrics_at_the_global_step(server_url: str) -> None:
    experiment = f"pl-{uuid.uuid4().hex[:8]}"
    _trainer(TrackboardLogger(experiment, "tiny", system_metrics=False)).fit(Tiny(lr=0.05))
    run = finished_run(server_url, _only_run(server_url, experiment))
    assert run.status == "FINISHED"
    assert run.params["lr"] == "0.05"
    assert history_steps(server_url, run.id, "train_loss") == list(range(STEPS))
    assert run.metrics["epoch"].count == STEPS


def test_a_crash_marks_the_run_failed_with_the_message(server_url: str) -> None:
    experiment = f"pl-crash-{uuid.uuid4().hex[:8]}"
    with pytest.raises(FloatingPointError):
        _trainer(TrackboardLogger(experiment, system_metrics=False)).fit(Tiny(fail_at=2))
    run = finished_run(server_url, _only_run(server_url, experiment))
    assert run.status == "FAILED"
    assert run.tags[FAILURE_TAG] == "FloatingPointError: loss went NaN"
    assert run.metrics["train_loss"].count == 2


@pytest.mark.usefixtures("sigint_restored")
def test_ctrl_c_marks_the_run_killed(server_url: str) -> None:
    experiment = f"pl-interrupt-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SystemExit):  # Lightning exits after a graceful shutdown
        _trainer(TrackboardLogger(experiment, system_metrics=False)).fit(Tiny(interrupt_at=1))
    run = finished_run(server_url, _only_run(server_url, experiment))
    assert run.status == "KILLED"


def test_ranks_other_than_zero_log_nothing(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = f"pl-rank-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    logger = TrackboardLogger(experiment, system_metrics=False)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.experiment.log({"loss": 1.0})  # a stand-in on other ranks
    logger.finalize("success")
    with trackboard.Api(server_url) as api:
        assert experiment not in {e.name for e in api.experiments()}


def test_kept_checkpoints_are_logged_as_artifacts(server_url: str, tmp_path: Path) -> None:
    experiment = f"pl-ckpt-{uuid.uuid4().hex[:8]}"
    checkpoints = ModelCheckpoint(dirpath=tmp_path, filename="tiny-{step}", save_last=True)
    logger = TrackboardLogger(experiment, system_metrics=False, log_checkpoints=True)
    _trainer(logger, enable_checkpointing=True, callbacks=[checkpoints]).fit(Tiny())
    paths = artifact_paths(server_url, _only_run(server_url, experiment))
    assert paths == {f"checkpoints/{Path(p).name}" for p in tmp_path.glob("*.ckpt")}
