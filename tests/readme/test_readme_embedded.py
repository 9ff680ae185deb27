"""The README's embedded-mode examples, run as written (read from README.md): the client
quickstart against a server on SQLite, and the MLflow section's shell block, which starts
the server and runs its Python block saved as `train.py` through the official client."""

import os
from pathlib import Path

import httpx

from tests.live_server import free_port, live_server
from tests.readme_blocks import (
    MLFLOW_HEADING,
    ShellSession,
    localized,
    python_block_under,
    readme_environment,
    run_quickstart,
    shell_block_under,
)


def test_the_readme_quickstart_reads_back_its_points_in_embedded_mode(tmp_path: Path) -> None:
    with live_server(tmp_path / "server", {"TRACKBOARD_LOG_JSON": "false"}) as url:
        run_quickstart(url, tmp_path / "client")


def test_the_readme_mlflow_example_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    work, home = tmp_path / "work", tmp_path / "home"
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
    session = ShellSession(script, work, env, tmp_path / "readme.log")
    try:
        session.wait(timeout_s=300)
        mlflow_api = f"{url}/api/2.0/mlflow"
        experiment = httpx.get(
            f"{mlflow_api}/experiments/get-by-name", params={"experiment_name": "mnist"}
        ).json()["experiment"]
        (run,) = httpx.post(
            f"{mlflow_api}/runs/search", json={"experiment_ids": [experiment["experiment_id"]]}
        ).json()["runs"]
        history = httpx.get(
            f"{mlflow_api}/metrics/get-history",
            params={"run_id": run["info"]["run_id"], "metric_key": "loss"},
        ).json()["metrics"]
    finally:
        session.stop()
    assert run["info"]["run_name"] == "baseline"
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {
        "lr": "0.01",
        "optimizer": "adam",
    }
    assert {"key": "team", "value": "vision"} in run["data"]["tags"]
    assert [point["step"] for point in history] == list(range(100))
    assert [p.name for p in home.rglob("config.json")] == ["config.json"], os.listdir(home)
