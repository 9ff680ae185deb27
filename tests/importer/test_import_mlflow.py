"""Importing from an mlruns folder and from an MLflow server copies everything, once."""

import math
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.mlflow_compat.servers import Server
from trackboard.cli.main import app as cli
from trackboard.importer.mlflow_rest import MlflowRestSource
from trackboard.importer.mlruns_folder import MlrunsSource
from trackboard.importer.target import TrackboardTarget
from trackboard.importer.transfer import Source, import_from_mlflow

# The first test to use the server pair also waits for both servers to start.
pytestmark = pytest.mark.timeout(900)

WRITER = Path(__file__).with_name("write_mlflow_data.py")


def write_mlflow_data(tracking_uri: str, cwd: Path, *arguments: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=tracking_uri,
        MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        # MLflow 3 keeps the file store (mlruns folders) only behind this switch.
        MLFLOW_ALLOW_FILE_STORE="true",
        GIT_PYTHON_REFRESH="quiet",
    )
    result = subprocess.run(
        [sys.executable, str(WRITER), *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout.split()


def _value(value: float) -> Any:
    return "nan" if math.isnan(value) else value


def snapshot(source: Source, names: list[str]) -> dict[str, Any]:
    """Everything an import must carry over, keyed by experiment name and run id."""
    view: dict[str, Any] = {}
    for name in names:
        (experiment,) = source.experiments(name)
        runs: dict[str, Any] = {}
        for run in source.runs(experiment):
            histories = {}
            for key in run.metric_keys:
                series = source.history(run, key)
                histories[key] = list(
                    zip(series.steps, series.timestamps, map(_value, series.values), strict=True)
                )
            runs[run.id] = {
                "name": run.name,
                "user": run.user,
                "status": run.status,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "params": run.params,
                "tags": run.tags,
                "histories": histories,
            }
        view[name] = {"tags": experiment.tags, "runs": runs}
    return view


def test_mlruns_folder_imports_completely_and_only_once(tmp_path: Path, trackboard: Server) -> None:
    prefix = f"folder-{uuid.uuid4().hex[:8]}"
    mlruns = tmp_path / "mlruns"
    write_mlflow_data(mlruns.as_uri(), tmp_path, prefix)
    names = [f"{prefix}-a", f"{prefix}-b"]
    source = MlrunsSource(str(mlruns))
    expected = snapshot(source, names)
    assert len(expected[f"{prefix}-a"]["runs"]) == 2
    assert len(expected[f"{prefix}-b"]["runs"]) == 2  # the deleted run stays behind

    runner = CliRunner()
    for experiment in names:
        result = runner.invoke(
            cli,
            [
                "import",
                "mlflow",
                "--from",
                str(mlruns),
                "--experiment",
                experiment,
                "--to",
                trackboard.url,
            ],
        )
        assert result.exit_code == 0, result.output
    with MlflowRestSource(trackboard.url) as imported, TrackboardTarget(trackboard.url) as target:
        assert snapshot(imported, names) == expected
        again = [import_from_mlflow(source, target, experiment_name=name) for name in names]
        assert snapshot(imported, names) == expected
    assert [(s.new_runs, s.points_sent) for s in again] == [(0, 0), (0, 0)]
    assert sum(s.points_already_there for s in again) == sum(
        len(h)
        for e in expected.values()
        for r in e["runs"].values()
        for h in r["histories"].values()
    )


def test_mlflow_server_imports_completely_once_and_then_only_new_points(
    tmp_path: Path, mlflow_source: Server, trackboard: Server
) -> None:
    prefix = f"server-{uuid.uuid4().hex[:8]}"
    first_run = write_mlflow_data(mlflow_source.url, tmp_path, prefix)[0]
    with (
        MlflowRestSource(mlflow_source.url) as source,
        TrackboardTarget(trackboard.url) as target,
        MlflowRestSource(trackboard.url) as imported,
    ):
        check_server_import(tmp_path, mlflow_source, prefix, first_run, source, target, imported)


def check_server_import(
    tmp_path: Path,
    mlflow_source: Server,
    prefix: str,
    first_run: str,
    source: MlflowRestSource,
    target: TrackboardTarget,
    imported: MlflowRestSource,
) -> None:
    names = [f"{prefix}-a", f"{prefix}-b"]
    summaries = [import_from_mlflow(source, target, experiment_name=name) for name in names]
    assert [s.new_runs for s in summaries] == [2, 2]
    assert snapshot(imported, names) == snapshot(source, names)

    again = [import_from_mlflow(source, target, experiment_name=name) for name in names]
    assert [(s.new_runs, s.points_sent) for s in again] == [(0, 0), (0, 0)]

    write_mlflow_data(mlflow_source.url, tmp_path, prefix, "more", first_run)
    more = import_from_mlflow(source, target, experiment_name=names[0])
    assert (more.new_runs, more.points_sent) == (0, 30)
    assert snapshot(imported, names) == snapshot(source, names)
