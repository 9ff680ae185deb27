"""Per-step logging overhead of each framework integration (`python bench/integrations.py`).

For Lightning, Transformers, Keras, XGBoost and LightGBM: the time the integration's
per-step hook takes in the training thread (the call the framework makes each step, with
a typical metric dict), against a tiny model's own step time on CPU measured without any
logging (the baseline). The target is ≤ 1 % of the step or ≤ 20 µs, whichever is larger.
Runs are offline (spooled under a temporary TRACKBOARD_HOME): the training thread does the
same work either way, sending happens in the client's background thread. Figures are
medians of several rounds; the section goes to docs/benchmarks.md (bench/report.py).

Optuna and scikit-learn log once per trial or fold, not per step, and are not measured.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import median, write_section

ROUNDS = 5
HOOK_CALLS = 2000
TARGET_FRACTION = 0.01
TARGET_FLOOR_US = 20.0


def per_call_us(call: Callable[[int], object], calls: int) -> float:
    """Median over ROUNDS of the mean time of one `call(step)`, in µs."""
    rounds = []
    step = 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            call(step)
            step += 1
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return median(rounds)


def per_step_us(train: Callable[[], int]) -> float:
    """Median over ROUNDS of a training's time per step (`train` returns its steps), in µs."""
    train()  # warm-up: first-call compilation and allocation
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        steps = train()
        rounds.append((time.perf_counter() - started) / steps * 1e6)
    return median(rounds)


def lightning_case() -> tuple[float, float]:
    import lightning
    import torch

    from trackboard.integrations.lightning import TrackboardLogger

    class Tiny(lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(8, 1)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            features, target = batch
            loss = torch.nn.functional.mse_loss(self.layer(features), target)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    features = torch.rand(800, 8)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(features, features.sum(1, keepdim=True)), batch_size=8
    )

    def train() -> int:
        trainer = lightning.Trainer(
            max_steps=100,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
        trainer.fit(Tiny(), loader)
        return 100

    logger = TrackboardLogger("bench-lightning", system_metrics=False)
    hook = per_call_us(
        lambda s: logger.log_metrics({"train_loss": 0.5, "epoch": 1.0}, step=s), HOOK_CALLS
    )
    logger.finalize("success")
    return per_step_us(train), hook


def transformers_case() -> tuple[float, float]:
    """`Trainer` needs `accelerate` (not in the dev lock): the baseline is the same tiny
    model's step in a plain PyTorch loop (a smaller step than Trainer's, so a harder
    budget), and the callback gets a stand-in for `TrainingArguments`."""
    import torch
    import transformers

    from trackboard.integrations.transformers import TrackboardCallback

    class Scorer(transformers.PreTrainedModel):  # type: ignore[misc]
        config_class = transformers.PretrainedConfig

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.layer = torch.nn.Linear(8, 1)
            self.post_init()

        def forward(self, features: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
            return {"loss": torch.nn.functional.mse_loss(self.layer(features), labels)}

    features = torch.rand(400, 8)
    labels = features.sum(1, keepdim=True)

    def train() -> int:
        model = Scorer(transformers.PretrainedConfig())
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for start in range(0, 400, 8):
            loss = model(features[start : start + 8], labels[start : start + 8])["loss"]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        return 50

    class Arguments:
        run_name = "bench"

        def to_dict(self) -> dict[str, Any]:
            return {"learning_rate": 0.01, "max_steps": 50}

    callback = TrackboardCallback("bench-transformers", system_metrics=False)
    args, state, control = Arguments(), transformers.TrainerState(), transformers.TrainerControl()
    logs = {"loss": 0.5, "grad_norm": 1.2, "learning_rate": 1e-4, "epoch": 0.5}

    def log(step: int) -> None:
        state.global_step = step
        callback.on_log(args, state, control, logs=logs)

    hook = per_call_us(log, HOOK_CALLS)
    callback.on_train_end(args, state, control)
    return per_step_us(train), hook


def keras_case() -> tuple[float, float]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    from trackboard.integrations.keras import TrackboardCallback

    features = np.random.default_rng(0).random((800, 8)).astype("float32")
    target = features.sum(axis=1, keepdims=True)

    def model() -> Any:
        built = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
        built.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        return built

    def train() -> int:
        model().fit(features, target, batch_size=8, epochs=1, verbose=0)
        return 100

    callback = TrackboardCallback("bench-keras", system_metrics=False)
    callback.set_model(model())
    callback.set_params({"epochs": 1, "steps": 100, "verbose": 0})
    callback.on_train_begin()
    hook = per_call_us(
        lambda s: callback.on_train_batch_end(s, logs={"loss": 0.5, "mae": 0.3}), HOOK_CALLS
    )
    callback.on_train_end()
    return per_step_us(train), hook


def xgboost_case() -> tuple[float, float]:
    import numpy as np
    import xgboost

    from trackboard.integrations.xgboost import TrackboardCallback

    features = np.random.default_rng(0).random((256, 8))
    data = xgboost.DMatrix(features, label=features[:, 0])

    def train() -> int:
        xgboost.train(
            {"max_depth": 3, "nthread": 1}, data, 50, evals=[(data, "train")], verbose_eval=False
        )
        return 50

    callback = TrackboardCallback("bench-xgboost", system_metrics=False, log_importance=False)
    booster = xgboost.train({"max_depth": 2}, data, 1)
    callback.before_training(booster)
    evals_log = {"train": {"rmse": [0.5, 0.4]}}
    hook = per_call_us(lambda s: callback.after_iteration(booster, s, evals_log), HOOK_CALLS)
    callback.after_training(booster)
    return per_step_us(train), hook


def lightgbm_case() -> tuple[float, float]:
    import lightgbm
    import numpy as np

    from trackboard.integrations.lightgbm import TrackboardCallback

    features = np.random.default_rng(0).random((256, 8))
    params = {"verbose": -1, "num_threads": 1, "num_leaves": 7}

    def train() -> int:
        data = lightgbm.Dataset(features, label=features[:, 0])
        lightgbm.train(params, data, 50, valid_sets=[data])
        return 50

    callback = TrackboardCallback("bench-lightgbm", system_metrics=False, log_importance=False)
    results = [("valid_0", "l2", 0.5, False)]

    def call(step: int) -> None:
        callback(
            lightgbm.callback.CallbackEnv(
                model=None,
                params=params,
                iteration=step,
                begin_iteration=0,
                end_iteration=10**9,
                evaluation_result_list=results,
            )
        )

    hook = per_call_us(call, HOOK_CALLS)
    callback.finish()
    return per_step_us(train), hook


CASES = {
    "Lightning": lightning_case,
    "Transformers": transformers_case,
    "Keras 3 (torch)": keras_case,
    "XGBoost": xgboost_case,
    "LightGBM": lightgbm_case,
}


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    home = tempfile.mkdtemp(prefix="trackboard-bench-")
    os.environ.update(TRACKBOARD_MODE="offline", TRACKBOARD_HOME=home)
    rows = []
    for name, case in CASES.items():
        step_us, hook_us = case()
        budget = max(TARGET_FRACTION * step_us, TARGET_FLOOR_US)
        verdict = "met" if hook_us <= budget else "**missed**"
        share = 100 * hook_us / step_us
        print(
            f"{name}: step {step_us:,.0f} µs, logging {hook_us:.1f} µs ({share:.2f} %): {verdict}"
        )
        rows.append(
            f"| {name} | {step_us:,.0f} µs | {hook_us:.1f} µs | {share:.2f} % | "
            f"{budget:.0f} µs | {verdict} |"
        )
    body = "\n".join(
        [
            "Command: `python bench/integrations.py`. Per training step, the time the "
            "integration's hook takes in the training thread (Lightning `log_metrics`, "
            "Transformers `on_log`, Keras `on_train_batch_end`, XGBoost `after_iteration`, "
            "LightGBM's callback; 2-4 keys a step, offline run) against a tiny model's own "
            "step on CPU without logging (Transformers: the model's step in a plain PyTorch "
            "loop, as Trainer needs accelerate). Medians of "
            f"{ROUNDS} rounds ({HOOK_CALLS:,} hook calls each). Target: ≤ 1 % of the step "
            "or ≤ 20 µs, whichever is larger. Optuna and scikit-learn log per trial or fold, "
            "not per step. Load average during the run: "
            f"{os.getloadavg()[0]:.1f} (other work shares the 2 cores).",
            "",
            "| integration | tiny model's step | logging per step | share | budget | target |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section("integrations", body)
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
