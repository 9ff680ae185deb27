"""`trackboard export` against a real server: the file pandas reads, by name or id."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

from tests.live_server import live_server
from trackboard.cli.main import app

# The client-only CLI, run as a client-only install would: afterwards, nothing of the
# server stack may have been imported.
LIGHT_CLI = (
    "import sys\n"
    "from trackboard.cli.light import main\n"
    "status = main(sys.argv[1:])\n"
    "loaded = [m for m in ('trackboard.server', 'sqlalchemy', 'fastapi') if m in sys.modules]\n"
    "assert not loaded, loaded\n"
    "sys.exit(status)\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("export-server")) as url:
        experiment = httpx.post(f"{url}/api/v1/experiments", json={"name": "cli sweep"})
        assert experiment.status_code == 201, experiment.text
        runs = f"{url}/api/v1/experiments/{experiment.json()['id']}/runs"
        for i, lr in enumerate(["0.1", "0.01", "0.001"]):
            run = httpx.post(runs, json={"name": f"r{i}", "params": {"lr": lr}, "start_time": i})
            assert run.status_code == 201, run.text
            if i < 2:  # the last run logs no accuracy: an empty cell, NaN in pandas
                points = [{"key": "acc", "value": 0.5 + i / 4, "step": 1}]
                logged = httpx.post(
                    f"{url}/api/v1/runs/{run.json()['id']}/metrics", json={"metrics": points}
                )
                assert logged.status_code in (200, 202), logged.text
        yield url


def light_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIGHT_CLI, *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_light_cli_writes_a_csv_pandas_reads_with_numeric_dtypes(
    server: str, tmp_path: Path
) -> None:
    output = tmp_path / "runs.csv"
    done = light_cli(
        "export", "--experiment", "cli sweep", "--order-by", "attributes.start_time ASC",
        "-o", str(output), url=server,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(output)
    assert list(frame["name"]) == ["r0", "r1", "r2"]
    assert frame["start_time"].dtype == "int64"
    assert frame["experiment_id"].dtype == "int64"
    assert frame["params.lr"].dtype == "float64"
    assert frame["metrics.acc"].dtype == "float64"
    assert list(frame["metrics.acc"][:2]) == [0.5, 0.75]
    assert pd.isna(frame["metrics.acc"][2])
    api = httpx.post(
        f"{server}/api/v1/runs/search",
        json={"experiment_ids": [int(frame["experiment_id"][0])]},
    ).json()["runs"]
    assert set(frame["id"]) == {run["id"] for run in api}


def test_filter_and_jsonl_through_the_full_cli(server: str, tmp_path: Path) -> None:
    experiment = httpx.get(f"{server}/api/v1/experiments/by-name/cli sweep").json()["id"]
    output = tmp_path / "runs.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "export", "--experiment", str(experiment), "--filter", "metrics.acc > 0.6",
            "--format", "jsonl", "--columns", "name,metrics.acc", "-o", str(output),
            "--url", server,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_json(output, lines=True)
    assert frame.to_dict("records") == [{"name": "r1", "metrics.acc": 0.75}]


def test_an_unknown_experiment_fails_and_leaves_no_file(server: str, tmp_path: Path) -> None:
    output = tmp_path / "runs.csv"
    done = light_cli("export", "--experiment", "no such", "-o", str(output), url=server)
    assert done.returncode == 1
    assert "no such" in done.stderr
    assert list(tmp_path.iterdir()) == []
