"""MLflow's own client against a real server with auth on: its requests (JSON writes, raw
artifact uploads, deletes) pass the gateway's request checks with an API key."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server
from tests.mlflow_compat.servers import require_mlflow

pytestmark = pytest.mark.timeout(600)

SCRIPT = """
import json, pathlib, sys, tempfile
import mlflow
from mlflow import MlflowClient

mlflow.set_experiment("keyed-client")
with mlflow.start_run() as run:
    mlflow.log_param("lr", "0.1")
    mlflow.log_metric("loss", 0.5, step=1)
    mlflow.log_metrics({"acc": 0.9}, step=1)
    mlflow.set_tag("stage", "test")
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder, "notes.txt")
        path.write_text("hello")
        mlflow.log_artifact(str(path))
client = MlflowClient()
fetched = client.get_run(run.info.run_id)
artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
text = mlflow.artifacts.load_text(run.info.artifact_uri + "/notes.txt")
client.delete_run(run.info.run_id)
print(json.dumps({
    "run_id": run.info.run_id,
    "params": fetched.data.params,
    "metrics": fetched.data.metrics,
    "tags": {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")},
    "artifacts": artifacts,
    "text": text,
    "deleted": client.get_run(run.info.run_id).info.lifecycle_stage,
}))
"""


def create_key(home: Path) -> str:
    env = {**os.environ, "TRACKBOARD_HOME": str(home), "TRACKBOARD_AUTH": "on"}
    created = subprocess.run(
        [sys.executable, "-m", "trackboard.cli.main", "keys", "create", "--project", "ml"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return created.stdout.strip().splitlines()[-1]


def test_mlflow_client_logs_and_reads_back_with_an_api_key(tmp_path: Path) -> None:
    require_mlflow()
    home = tmp_path / "server"
    with live_server(home, {"TRACKBOARD_AUTH": "on", "TRACKBOARD_ALLOWED_HOSTS": ""}) as url:
        key = create_key(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(
            MLFLOW_TRACKING_URI=url,
            MLFLOW_TRACKING_TOKEN=key,
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
            GIT_PYTHON_REFRESH="quiet",
        )
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["params"] == {"lr": "0.1"}
        assert seen["metrics"] == {"loss": 0.5, "acc": 0.9}
        assert seen["tags"] == {"stage": "test"}
        assert seen["artifacts"] == ["notes.txt"]
        assert seen["text"] == "hello"
        assert seen["deleted"] == "deleted"
        # Without the key nothing is readable: the run above was written with it.
        anonymous = httpx.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": seen["run_id"]})
        assert anonymous.status_code == 401
