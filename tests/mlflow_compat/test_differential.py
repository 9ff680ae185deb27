"""The official mlflow client sees the same results from Trackboard as from MLflow's server."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.mlflow_compat.servers import Server

# The first test to use the server pair also waits for both servers to start.
pytestmark = pytest.mark.timeout(900)

SCRIPT = Path(__file__).with_name("differential_script.py")


def start_script(server: Server, prefix: str, script: Path = SCRIPT) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=server.url,
        MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true",
        # A mistake must fail fast, not be retried for minutes.
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        GIT_PYTHON_REFRESH="quiet",
        MPLBACKEND="Agg",
    )
    return subprocess.Popen(
        [sys.executable, str(script), prefix],
        env=env,
        cwd=server.data_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def script_output(
    process: subprocess.Popen[str], server: Server, timeout_s: float = 300
) -> dict[str, Any]:
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == 0, f"script failed against {server.url}:\n{stderr[-4000:]}"
    output: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return output


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            found += differences(
                expected.get(key, "<absent>"), actual.get(key, "<absent>"), f"{path}.{key}"
            )
        return found
    if expected != actual:
        return [f"{path}: MLflow {expected!r} != Trackboard {actual!r}"]
    return []


def test_mlflow_client_sees_the_same_results_from_both_servers(
    mlflow_reference: Server, trackboard: Server
) -> None:
    prefix = f"diff-{uuid.uuid4().hex[:8]}"
    # Both at once: the two servers share nothing, and the client's start-up is slow.
    reference_run = start_script(mlflow_reference, prefix)
    our_run = start_script(trackboard, prefix)
    expected = script_output(reference_run, mlflow_reference)
    actual = script_output(our_run, trackboard)
    assert differences(expected, actual) == []
    # The script really exercised what it claims to.
    assert len(expected["history_loss"]) == 20
    assert expected["search"]["acc_gt"]
    assert expected["errors"]["param_changed"] == "INVALID_PARAMETER_VALUE"
    assert expected["downloaded_config"]
    assert "plots/curve.png" in expected["downloaded_files"]
    # MLflow's sampling: 20 steps to 5 keeps the first row of each group of 4, then the last.
    assert [p[1] for p in expected["ui_bulk_interval"]["loss_5"]] == [0, 4, 8, 12, 19]
    assert len(expected["ui_bulk_history"]["loss_7"]) == 7
    assert expected["ui_artifacts_list"]["parent_dir"][2] == "Invalid path"
    assert expected["ui_artifacts_list"]["root"]["files"]
    # Logged models and dataset inputs (MLflow 3).
    assert expected["model_search"]["by_metric"] == ["gamma", "beta"]
    assert expected["model_search_pages"] == [["delta", "gamma"], ["beta", "alpha"]]
    assert expected["trainer_outputs"] == [["model-alpha", 3]]
    train_input = expected["trainer_inputs"][0]
    assert train_input[0] == "train-set"
    assert train_input[4]  # the schema
    assert train_input[5]  # the profile
    assert ["mlflow.data.context", "training"] in train_input[6]
    assert expected["runs_by_dataset"]["context"] == ["plain", "trainer"]
    assert expected["runs_by_dataset"]["digest_in"] == ["trainer"]
