"""Importing from MLflow stores (SQLite, an mlruns folder, an MLflow server) copies
everything, once."""

import asyncio
import copy
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from mlflow import MlflowClient
from typer.testing import CliRunner

from tests.importer.snapshots import point_count, snapshot
from tests.importer.sql_stores import mariadb_store, postgres_store
from tests.importer.write_mlflow_data import log_more, write_runs
from tests.live_server import serving
from tests.mlflow_compat.servers import Server, require_mlflow
from trackboard.cli.main import app as cli
from trackboard.importer.mlflow_rest import MlflowRestSource
from trackboard.importer.mlflow_store import MlflowStoreSource
from trackboard.importer.target import TrackboardTarget
from trackboard.importer.transfer import ImportSummary, import_from_mlflow

pytestmark = [
    # The first test to use the server pair also waits for both servers to start.
    pytest.mark.timeout(900),
    # MLflow 3.17.2's SQL store reads runs with a loader SQLAlchemy 2.1 deprecates.
    pytest.mark.filterwarnings(
        "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
    ),
]


@dataclass(frozen=True)
class Store:
    uri: str
    names: list[str]
    run_ids: list[str]
    expected: dict[str, Any]


def invoke_import(source: str, url: str, *extra: str) -> str:
    result = CliRunner().invoke(cli, ["import", "mlflow", "--from", source, "--to", url, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def read(uri: str, names: list[str], scratch: Path) -> dict[str, Any]:
    with MlflowStoreSource(uri) as source:
        return snapshot(source, names, scratch)


def import_again(uri: str, url: str, names: list[str]) -> list[ImportSummary]:
    with MlflowStoreSource(uri) as source, TrackboardTarget(url) as target:
        return [import_from_mlflow(source, target, experiment_name=name) for name in names]


def assert_nothing_added(again: list[ImportSummary], expected: dict[str, Any]) -> None:
    sent = [
        (
            s.new_runs,
            s.points_sent,
            s.datasets_sent,
            s.artifacts_sent,
            s.artifact_bytes_sent,
            s.models_sent,
        )
        for s in again
    ]
    assert sent == [(0, 0, 0, 0, 0, 0)] * len(again)
    assert sum(s.points_already_there for s in again) == point_count(expected)
    assert sum(s.datasets_already_there for s in again) == 2
    # 2 files per run of the first experiment, 2 in the READY model
    assert sum(s.artifacts_already_there for s in again) == 6
    assert sum(s.models_already_there for s in again) == 2


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """`sqlite:///…/mlflow.db`, MLflow 3's default store, written once for the module."""
    require_mlflow()
    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    run_ids = write_runs(uri, "sqlite", artifact_root=folder / "artifacts", files=folder)
    names = ["sqlite-a", "sqlite-b"]
    expected = read(uri, names, folder / "expected")
    return Store(uri, names, run_ids, expected)


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The test's app (SQLite and PostgreSQL) on a real port: the importer is synchronous."""
    async with serving(app) as url:
        yield url


async def test_sqlite_store_imports_completely_once_and_then_only_new_points(
    sqlite_store: Store, served: str, tmp_path: Path
) -> None:
    output = await asyncio.to_thread(invoke_import, sqlite_store.uri, served)
    assert "runs         4 (4 new)" in output
    assert "artifacts    6 files sent" in output
    assert "models       2 sent" in output
    expected = sqlite_store.expected
    assert [len(e["runs"]) for e in expected.values()] == [2, 2]  # the deleted run stays
    assert [len(e["models"]) for e in expected.values()] == [2, 0]
    imported = await asyncio.to_thread(read, served, sqlite_store.names, tmp_path / "first")
    assert imported == as_imported(expected)

    again = await asyncio.to_thread(import_again, sqlite_store.uri, served, sqlite_store.names)
    assert_nothing_added(again, expected)

    # More points in a copy of the store (the module's store stays as it was written).
    grown = tmp_path / "grown.db"
    shutil.copyfile(sqlite_store.uri.removeprefix("sqlite:///"), grown)
    log_more(f"sqlite:///{grown}", sqlite_store.run_ids[0])
    more = (await asyncio.to_thread(import_again, f"sqlite:///{grown}", served, ["sqlite-a"]))[0]
    assert (more.new_runs, more.points_sent, more.artifacts_sent, more.models_sent) == (0, 30, 0, 0)
    after = await asyncio.to_thread(read, f"sqlite:///{grown}", sqlite_store.names, tmp_path / "a")
    assert after != expected
    imported = await asyncio.to_thread(read, served, sqlite_store.names, tmp_path / "b")
    assert imported == as_imported(after)


def as_imported(view: dict[str, Any]) -> dict[str, Any]:
    """`view` with each model's metric value as its run's history has it (the step and
    value at its timestamp), as the import sends it: MLflow's SQL store reads a NaN linked
    to a model back as 0 (3.17.2), its file store writes a point linked with a dataset into
    the history at step 0."""
    view = copy.deepcopy(view)
    for experiment in view.values():
        histories = {run_id: run["histories"] for run_id, run in experiment["runs"].items()}
        for model in experiment["models"].values():
            fixed = []
            for run_id, key, step, timestamp, value, *dataset in model["metrics"]:
                points = histories[run_id][key]
                if (step, timestamp, value) not in points:
                    step, _, value = next(p for p in points if p[1] == timestamp)
                fixed.append((run_id, key, step, timestamp, value, *dataset))
            model["metrics"] = sorted(fixed, key=repr)
    return view


@pytest.fixture(params=["postgresql", "mariadb"])
def database_store(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """An MLflow store in a private database: (the URI to write it, the URI to import).
    MariaDB is imported as `mysql://`, which the importer reads with PyMySQL."""
    if request.param == "postgresql":
        with postgres_store() as uri:
            yield uri, uri
    else:
        with mariadb_store() as uri:
            yield uri, uri.replace("mysql+pymysql://", "mysql://", 1)


# One Trackboard store is enough: the SQLite test above covers both targets.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_postgresql_and_mysql_stores_import_completely_and_only_once(
    database_store: tuple[str, str], served: str, tmp_path: Path
) -> None:
    write_uri, import_uri = database_store
    await asyncio.to_thread(
        write_runs, write_uri, "db", artifact_root=tmp_path / "artifacts", files=tmp_path
    )
    names = ["db-a", "db-b"]
    expected = await asyncio.to_thread(read, import_uri, names, tmp_path / "expected")
    assert [len(e["runs"]) for e in expected.values()] == [2, 2]
    assert [len(e["models"]) for e in expected.values()] == [2, 0]
    output = await asyncio.to_thread(invoke_import, import_uri, served)
    assert "runs         4 (4 new)" in output
    assert "models       2 sent, 0 already there, 4 linked points sent" in output
    imported = await asyncio.to_thread(read, served, names, tmp_path / "imported")
    assert imported == as_imported(expected)
    again = await asyncio.to_thread(import_again, import_uri, served, names)
    assert_nothing_added(again, expected)


def import_proxied_run(store: Store, url: str, copy: Path) -> str:
    """A copy of the store with a run whose files only an MLflow server could serve."""
    shutil.copyfile(store.uri.removeprefix("sqlite:///"), copy)
    client = MlflowClient(tracking_uri=f"sqlite:///{copy}")
    experiment = client.create_experiment("proxied", artifact_location="mlflow-artifacts:/p")
    run_id = client.create_run(experiment, run_name="behind-proxy").info.run_id
    client.log_metric(run_id, "loss", 0.5, step=1)
    result = CliRunner().invoke(
        cli,
        ["import", "mlflow", "--from", f"sqlite:///{copy}", "--to", url, "--experiment", "proxied"],
    )
    assert result.exit_code == 1, result.output
    return result.output


async def test_unreadable_artifacts_are_reported_and_the_rest_imported(
    sqlite_store: Store, served: str, tmp_path: Path
) -> None:
    output = await asyncio.to_thread(import_proxied_run, sqlite_store, served, tmp_path / "p.db")
    assert "runs         1 (1 new)" in output
    assert "points       1 sent" in output
    assert "not imported: artifacts of run" in output
    assert "import with --from http(s)://<that server>" in output


def test_a_missing_sqlite_file_is_an_error_not_a_new_store(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    result = CliRunner().invoke(cli, ["import", "mlflow", "--from", f"sqlite:///{missing}"])
    assert result.exit_code == 1
    assert f"no SQLite database at '{missing}'" in result.output
    assert not missing.exists()


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("mlflow.db", "is a file, not an mlruns folder (for an SQLite store write sqlite:///"),
        ("empty", "is not an MLflow folder (no <experiment>/meta.yaml)"),
        ("missing", "is not an MLflow folder"),
    ],
)
def test_a_path_that_is_no_mlruns_folder_is_refused_with_a_hint(
    tmp_path: Path, location: str, message: str
) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["import", "mlflow", "--from", str(tmp_path / location)])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "missing").exists()


def test_mlruns_folder_imports_completely_and_only_once(tmp_path: Path, trackboard: Server) -> None:
    prefix = f"folder-{uuid.uuid4().hex[:8]}"
    mlruns = tmp_path / "mlruns"
    write_runs(mlruns.as_uri(), prefix, files=tmp_path)
    names = [f"{prefix}-a", f"{prefix}-b"]
    expected = read(mlruns.as_uri(), names, tmp_path / "expected")  # file: URIs work too
    for name in names:
        invoke_import(str(mlruns), trackboard.url, "--experiment", name)
    assert read(trackboard.url, names, tmp_path / "imported") == as_imported(expected)
    assert_nothing_added(import_again(str(mlruns), trackboard.url, names), expected)


def test_mlflow_server_imports_completely_and_only_once(
    tmp_path: Path, mlflow_source: Server, trackboard: Server
) -> None:
    """First over REST alone (the reader without MLflow installed: runs, params, tags,
    metrics), then through MLflow's client, which adds only what REST could not read."""
    prefix = f"server-{uuid.uuid4().hex[:8]}"
    write_runs(mlflow_source.url, prefix, files=tmp_path)
    names = [f"{prefix}-a", f"{prefix}-b"]
    with MlflowRestSource(mlflow_source.url) as rest, TrackboardTarget(trackboard.url) as target:
        light = [import_from_mlflow(rest, target, experiment_name=name) for name in names]
    # REST reads no dataset inputs, artifacts or models.
    assert [(s.new_runs, s.datasets_sent, s.artifacts_sent) for s in light] == [(2, 0, 0)] * 2
    full = import_again(mlflow_source.url, trackboard.url, names)
    sent = [
        (s.new_runs, s.points_sent, s.datasets_sent, s.artifacts_sent, s.models_sent) for s in full
    ]
    assert sent == [(0, 0, 2, 6, 2), (0, 0, 0, 0, 0)]
    # REST copied the points MLflow linked to the model as plain points: linking them now
    # would store them twice, so they stay unlinked, and the import says so.
    assert [len(s.notes) for s in full] == [2, 0]
    assert all("not linked to their logged model" in note for note in full[0].notes)
    expected = read(mlflow_source.url, names, tmp_path / "expected")
    imported = read(trackboard.url, names, tmp_path / "imported")
    assert without_model_metrics(imported) == without_model_metrics(expected)
    assert_nothing_added(import_again(mlflow_source.url, trackboard.url, names), expected)


def without_model_metrics(view: dict[str, Any]) -> dict[str, Any]:
    for experiment in view.values():
        for model in experiment["models"].values():
            model["metrics"] = "left out"
    return view
