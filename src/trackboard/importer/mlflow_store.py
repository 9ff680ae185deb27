"""Read any MLflow tracking store through MLflow's own client (the `mlflow-import` extra).

`MlflowClient(tracking_uri=...)` picks MLflow's store class for the URI (SQLAlchemy for
`sqlite:`/`postgresql:`/`mysql:`/`mssql:`, the file store for `file:` and folders, REST for
`http(s):`, and any store a plugin registers), so every store MLflow can read is covered
by one reader, artifacts included (MLflow resolves each run's artifact repository). The
extra brings the PostgreSQL (psycopg2) and MySQL (PyMySQL) drivers.
"""

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse
from urllib.request import url2pathname

from trackboard.importer.mlflow_rest import MlflowRestSource
from trackboard.importer.records import (
    MetricSeries,
    ModelMetric,
    SourceArtifact,
    SourceDatasetInput,
    SourceError,
    SourceExperiment,
    SourceModel,
    SourceRun,
)

PAGE_SIZE = 1000
INSTALL_HINT = "pip install 'trackboard[mlflow-import]'"
# MLflow 3 refuses its file store (mlruns folders) unless this is set; reading one to move
# its runs elsewhere is exactly what the opt-out is for.
ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"
# MLflow draws a tqdm bar per downloaded artifact; the importer shows its own progress.
PROGRESS_BARS = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}

T = TypeVar("T")


def mlflow_installed() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def tracking_uri(location: str) -> str:
    """`location` as an MLflow tracking URI: a plain folder becomes a `file://` URI, and
    `mysql://` names PyMySQL when mysqlclient is not installed.

    Checked first so that a typo is an error, not a new empty store: MLflow would create
    a missing SQLite file or folder and then find nothing in it.
    """
    parsed = urlparse(location)
    scheme = parsed.scheme
    if scheme in ("", "file") or len(scheme) == 1:  # one letter: a Windows drive
        path = url2pathname(parsed.path) if scheme == "file" else location
        folder = Path(path).expanduser().resolve()
        if folder.is_file():
            raise SourceError(
                f"{folder} is a file, not an mlruns folder "
                f"(for an SQLite store write sqlite:///{folder})"
            )
        if not folder.is_dir() or not any(folder.glob("*/meta.yaml")):
            raise SourceError(f"{folder} is not an MLflow folder (no <experiment>/meta.yaml)")
        return folder.as_uri()
    if scheme == "mysql" and importlib.util.find_spec("MySQLdb") is None:
        # SQLAlchemy's default MySQL driver (mysqlclient) builds from C; the extra brings
        # PyMySQL, a driver in pure Python that reads the same URIs.
        return "mysql+pymysql" + location[len(scheme) :]
    if scheme == "sqlite":
        from sqlalchemy.engine import make_url

        database = make_url(location).database
        if not database or database == ":memory:" or not Path(database).is_file():
            raise SourceError(f"no SQLite database at {database or location!r}")
    return location


def open_mlflow_source(location: str) -> "tuple[MlflowStoreSource | MlflowRestSource, str]":
    """The reader for `location`, and a note for the user ("" when all is well).

    With MLflow installed, its client reads every store. Without it, a server can still
    be read over REST (runs, params, tags, metrics), which the light install can do.
    """
    if mlflow_installed():
        return MlflowStoreSource(location), ""
    if urlparse(location).scheme in ("http", "https"):
        note = (
            "MLflow is not installed: copying runs, params, tags and metrics only "
            f"(for dataset inputs, logged models and artifacts too: {INSTALL_HINT})"
        )
        return MlflowRestSource(location), note
    raise SourceError(f"reading {location} needs MLflow: {INSTALL_HINT}")


def _status(value: Any) -> str:
    return str(value) if value else "FINISHED"


class MlflowStoreSource:
    """The MLflow tracking store at `location` (a tracking URI or an mlruns folder)."""

    def __init__(self, location: str) -> None:
        try:
            from mlflow import MlflowClient
        except ImportError as exc:
            raise SourceError(f"reading {location} needs MLflow: {INSTALL_HINT}") from exc
        uri = tracking_uri(location)
        self.description = location
        self._uri = uri
        self._model_locations: dict[str, str] = {}
        switches = {PROGRESS_BARS: "false"}
        if uri.startswith("file:"):
            switches[ALLOW_FILE_STORE] = "true"
        # Unless the user chose otherwise: an unreachable server is reported in seconds, not
        # after MLflow's default 7 retries (about 4 minutes); a re-run resumes an import.
        for name, value in RETRIES.items():
            if name not in os.environ:
                switches[name] = value
        # MLflow reads these switches on every call, so they hold while the source is open.
        self._switched_back = {name: os.environ.get(name) for name in switches}
        os.environ.update(switches)
        try:
            self._client = self._read(MlflowClient, tracking_uri=uri)
        except SourceError:
            self.close()
            raise

    def close(self) -> None:
        for name, value in self._switched_back.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._switched_back = {}

    def __enter__(self) -> "MlflowStoreSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """MLflow's errors (a refused URI, an unreachable server, an old schema) as ours."""
        from mlflow.exceptions import MlflowException

        try:
            return call(*args, **kwargs)
        except ImportError as exc:
            # SQLAlchemy loads a database's driver only when MLflow connects.
            raise SourceError(
                f"reading {self.description} needs a package that is not installed: {exc}"
            ) from exc
        except (MlflowException, OSError) as exc:
            raise SourceError(f"MLflow store {self.description}: {exc}") from exc

    def _pages(self, search: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = self._read(search, max_results=PAGE_SIZE, page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return

    def experiments(self, name: str | None = None) -> list[SourceExperiment]:
        """Active experiments, or the one called `name`."""
        if name is not None:
            found = self._read(self._client.get_experiment_by_name, name)
            if found is None or found.lifecycle_stage != "active":
                raise SourceError(f"no experiment {name!r} in {self.description}")
            return [_experiment(found)]
        from mlflow.entities import ViewType

        return [
            _experiment(e)
            for e in self._pages(self._client.search_experiments, view_type=ViewType.ACTIVE_ONLY)
        ]

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]:
        from mlflow.entities import ViewType

        for found in self._pages(
            self._client.search_runs,
            experiment_ids=[experiment.id],
            run_view_type=ViewType.ACTIVE_ONLY,
        ):
            # Read again alone: MLflow's SQL store leaves the models a run used out of
            # search results (3.17.2), and only `get_run` fills them in.
            yield _run(self._read(self._client.get_run, found.info.run_id))

    def history(self, run: SourceRun, key: str) -> MetricSeries:
        metrics = self._read(self._client.get_metric_history, run.id, key)
        return MetricSeries.from_points(
            key, [(int(m.timestamp), int(m.step), float(m.value)) for m in metrics]
        )

    def artifacts(self, run: SourceRun) -> Iterator[SourceArtifact]:
        """Every file under the run's artifact root, folders walked depth first."""
        folders: list[str | None] = [None]
        while folders:
            for entry in self._read(self._client.list_artifacts, run.id, folders.pop()):
                if entry.is_dir:
                    folders.append(entry.path)
                else:
                    yield SourceArtifact(entry.path, entry.file_size)

    def download_artifact(self, run: SourceRun, path: str, folder: Path) -> Path:
        """The file at `path` copied into `folder` (which must exist)."""
        local = self._read(self._client.download_artifacts, run.id, path, str(folder))
        return Path(local)

    def models(self, experiment: SourceExperiment) -> Iterator[SourceModel]:
        """The experiment's logged models (MLflow 3), deleted ones left out by MLflow."""
        for model in self._pages(self._client.search_logged_models, experiment_ids=[experiment.id]):
            self._model_locations[model.model_id] = model.artifact_location
            yield SourceModel(
                id=model.model_id,
                experiment_id=model.experiment_id,
                name=model.name,
                model_type=model.model_type or "",
                status=str(getattr(model.status, "name", model.status)),
                source_run_id=model.source_run_id or None,
                creation_time=int(model.creation_timestamp or 0),
                last_update_time=int(model.last_updated_timestamp or 0),
                params=dict(model.params),
                tags=dict(model.tags),
                metrics=tuple(_model_metric(metric) for metric in model.metrics or []),
            )

    def model_artifacts(self, model: SourceModel) -> Iterator[SourceArtifact]:
        folders: list[str | None] = [None]
        while folders:
            listing = self._client.list_logged_model_artifacts
            for entry in self._read(listing, model.id, folders.pop()):
                if entry.is_dir:
                    folders.append(entry.path)
                else:
                    yield SourceArtifact(entry.path, entry.file_size)

    def download_model_artifact(self, model: SourceModel, path: str, folder: Path) -> Path:
        from mlflow.artifacts import download_artifacts

        location = self._model_locations.get(model.id)
        if location is None:
            location = self._read(self._client.get_logged_model, model.id).artifact_location
        local = self._read(
            download_artifacts,
            artifact_uri=f"{location.rstrip('/')}/{path}",
            dst_path=str(folder),
            tracking_uri=self._uri,
        )
        return Path(local)


def _experiment(experiment: Any) -> SourceExperiment:
    return SourceExperiment(experiment.experiment_id, experiment.name, dict(experiment.tags))


def _model_metric(metric: Any) -> ModelMetric:
    return ModelMetric(
        key=metric.key,
        value=float(metric.value),
        timestamp=int(metric.timestamp),
        step=int(metric.step or 0),
        run_id=metric.run_id or "",
        dataset_name=metric.dataset_name or "",
        dataset_digest=metric.dataset_digest or "",
    )


def _dataset_input(item: Any) -> SourceDatasetInput:
    dataset = item.dataset
    return SourceDatasetInput(
        name=dataset.name,
        digest=dataset.digest,
        source_type=dataset.source_type or "",
        source=dataset.source or "",
        schema=dataset.schema or "",
        profile=dataset.profile or "",
        tags={tag.key: tag.value for tag in item.tags},
    )


def _run(run: Any) -> SourceRun:
    info, data = run.info, run.data
    inputs = run.inputs.dataset_inputs if run.inputs else []
    model_inputs = run.inputs.model_inputs if run.inputs else []
    model_outputs = run.outputs.model_outputs if run.outputs else []
    return SourceRun(
        id=info.run_id,
        experiment_id=info.experiment_id,
        name=info.run_name or "",
        user=info.user_id or "",
        status=_status(info.status),
        start_time=int(info.start_time or 0),
        end_time=int(info.end_time) if info.end_time else None,
        params=dict(data.params),
        tags=dict(data.tags),
        metric_keys=tuple(sorted(data.metrics)),
        inputs=tuple(_dataset_input(item) for item in inputs),
        model_inputs=tuple(item.model_id for item in model_inputs or []),
        model_outputs=tuple((item.model_id, int(item.step or 0)) for item in model_outputs or []),
    )
