"""The README's embedded-mode examples, run as written (read from README.md): the MLflow
section's shell block starts the server and runs its Python block, saved as `train.py`,
through the official client; the client quickstart then runs against that same server."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import free_port
from tests.readme_blocks import (
    MLFLOW_HEADING,
    ShellSession,
    localized,
    python_block_under,
    readme_environment,
    run_quickstart,
    shell_block_under,
)


@dataclass(frozen=True)
class ReadmeServer:
    url: str
    home: Path


@pytest.fixture(scope="module")
def readme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadmeServer]:
    """The server the MLflow section's block started, after its `python train.py` ended."""
    tmp = tmp_path_factory.mktemp("readme-mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    work, home = tmp / "work", tmp / "home"
    work.mkdir()
    (work / "train.py").write_text(python_block_under(MLFLOW_HEADING))
    script = localized(
        shell_block_under(MLFLOW_HEADING),
        {"--port 5005": f"--port {port}", "http://127.0.0.1:5005": url},
    )
    env = {
        k: v
        for k, v in readme_environment(home, {"TRACKBOARD_LOG_LEVEL": "WARNING"}).items()
        if not k.startswith("MLFLOW_")
    }
    session = ShellSession(script, work, env, tmp / "readme.log")
    try:
        session.wait(timeout_s=300)
        yield ReadmeServer(url, home)
    finally:
        session.stop()


def mlflow_get(server: ReadmeServer, path: str, **params: str) -> Any:
    response = httpx.get(f"{server.url}/api/2.0/mlflow/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_readme_mlflow_example_stores_its_run(readme_server: ReadmeServer) -> None:
    experiment = mlflow_get(readme_server, "experiments/get-by-name", experiment_name="mnist")
    searched = httpx.post(
        f"{readme_server.url}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment["experiment"]["experiment_id"]]},
        timeout=10,
    ).json()
    (run,) = searched["runs"]
    history = mlflow_get(
        readme_server, "metrics/get-history", run_id=run["info"]["run_id"], metric_key="loss"
    )
    assert run["info"]["run_name"] == "baseline"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"lr": "0.01", "optimizer": "adam"}
    assert {"key": "team", "value": "vision"} in run["data"]["tags"]
    assert [point["step"] for point in history["metrics"]] == list(range(100))
    assert [path.name for path in readme_server.home.rglob("config.json")] == ["config.json"]


def test_the_readme_quickstart_reads_back_its_points_in_embedded_mode(
    readme_server: ReadmeServer, tmp_path: Path
) -> None:
    run_quickstart(readme_server.url, tmp_path / "client")
