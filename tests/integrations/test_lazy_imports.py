"""Importing `trackboard` or `trackboard.integrations` imports no framework: each
integration module imports its framework only when it is itself imported."""

import subprocess
import sys

FRAMEWORKS = (
    "torch",
    "lightning",
    "pytorch_lightning",
    "transformers",
    "keras",
    "xgboost",
    "lightgbm",
    "optuna",
    "sklearn",
    "tensorboard",
    "tensorboardX",
    "wandb",
)


def test_importing_trackboard_and_its_integrations_package_loads_no_framework() -> None:
    code = (
        "import sys, trackboard, trackboard.integrations, trackboard.integrations.run_binding\n"
        f"print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
