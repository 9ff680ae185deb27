"""MLflow's own client with a username and password (HTTP Basic) against a real server:
every request passes the password gate (remembered after the first), a full log-batch and
an artifact upload pass the body limits, and wrong passwords end in 429."""

import base64
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

PASSWORD = "a long enough password"

SCRIPT = """
import json, pathlib, tempfile
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

mlflow.set_experiment("password-client")
with mlflow.start_run() as run:
    client = MlflowClient()
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("m" * 250, 0.5, 1700000000000, i) for i in range(800)],
        params=[Param(f"p{i}", "v" * 6000) for i in range(100)],
        tags=[RunTag(f"t{i}", "v" * 8000) for i in range(100)],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder, "weights.bin")
        path.write_bytes(b"w" * (3 * 1024 * 1024))
        mlflow.log_artifact(str(path))
fetched = client.get_run(run.info.run_id)
artifacts = {a.path: a.file_size for a in client.list_artifacts(run.info.run_id)}
print(json.dumps({
    "params": len(fetched.data.params),
    "tags": len([k for k in fetched.data.tags if k.startswith("t")]),
    "metrics": fetched.data.metrics,
    "artifacts": artifacts,
}))
"""


def cli(home: Path, *args: str, stdin: str | None = None) -> None:
    env = {**os.environ, "TRACKBOARD_HOME": str(home), "TRACKBOARD_AUTH": "on"}
    subprocess.run(
        [sys.executable, "-m", "trackboard.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_mlflow_client_with_a_password_logs_a_full_batch_and_an_artifact(
    tmp_path: Path,
) -> None:
    require_mlflow()
    home = tmp_path / "server"
    with live_server(home, {"TRACKBOARD_AUTH": "on", "TRACKBOARD_ALLOWED_HOSTS": ""}) as url:
        cli(home, "users", "create", "dana", "--password-stdin", stdin=PASSWORD + "\n")
        cli(home, "users", "grant", "dana", "--project", "ml", "--role", "editor")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(
            MLFLOW_TRACKING_URI=url,
            MLFLOW_TRACKING_USERNAME="dana",
            MLFLOW_TRACKING_PASSWORD=PASSWORD,
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
        assert seen["params"] == 100
        assert seen["tags"] == 100
        assert seen["metrics"] == {"m" * 250: 0.5}
        assert seen["artifacts"] == {"weights.bin": 3 * 1024 * 1024}
        wrong = base64.b64encode(b"dana:not the password").decode()
        statuses = [
            httpx.get(
                f"{url}/api/2.0/mlflow/experiments/search",
                headers={"Authorization": f"Basic {wrong}"},
            ).status_code
            for _ in range(14)
        ]
    # 10 failures a minute per account by default.
    assert statuses[0] == 401
    assert statuses[-1] == 429
