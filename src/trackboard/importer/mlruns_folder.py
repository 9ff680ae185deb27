"""Read an `mlruns` folder (MLflow's file store) directly: no MLflow install needed.

Layout: `<root>/<experiment id>/meta.yaml` and `tags/<key>`; each run is
`<root>/<experiment id>/<run id>/` with `meta.yaml` and `params/`, `tags/`, `metrics/`
holding one file per key (keys with `/` are nested folders). A metric file has one point a
line: `<timestamp> <value> [<step>]`. Deleted experiments sit in `.trash/` and are skipped.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trackboard.importer.mlflow_rest import SourceError
from trackboard.importer.records import RUN_STATUSES, MetricSeries, SourceExperiment, SourceRun


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError as exc:
        raise SourceError(
            "reading an mlruns folder needs PyYAML: pip install pyyaml (or mlflow)"
        ) from exc
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    return loaded if isinstance(loaded, dict) else {}


def _key_files(folder: Path) -> dict[str, Path]:
    """Files under `folder` by key: the path relative to it, with `/` between parts."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _read_values(folder: Path) -> dict[str, str]:
    return {key: path.read_text(encoding="utf-8") for key, path in _key_files(folder).items()}


def _status(value: Any) -> str:
    """The file store writes RunStatus as a number (1 = RUNNING … 5 = KILLED) or a name."""
    if isinstance(value, int) and 1 <= value <= len(RUN_STATUSES):
        return RUN_STATUSES[value - 1]
    text = str(value).upper()
    return text if text in RUN_STATUSES else "FINISHED"


def _millis(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


class MlrunsSource:
    """An `mlruns` folder given as a path or a `file://` URI."""

    def __init__(self, location: str) -> None:
        path = location.removeprefix("file://") if location.startswith("file://") else location
        self.root = Path(path).expanduser()
        self.description = str(self.root)
        if not self.root.is_dir():
            raise SourceError(f"{self.root} is not a folder")

    def close(self) -> None:
        pass

    def experiments(self, name: str | None = None) -> list[SourceExperiment]:
        found = []
        for folder in sorted(self.root.iterdir(), key=lambda p: p.name):
            meta_path = folder / "meta.yaml"
            if folder.name.startswith(".") or not meta_path.is_file():
                continue
            meta = _load_yaml(meta_path)
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            experiment = SourceExperiment(
                str(meta.get("experiment_id", folder.name)),
                str(meta.get("name", folder.name)),
                _read_values(folder / "tags"),
            )
            if name is None or experiment.name == name:
                found.append(experiment)
        if name is not None and not found:
            raise SourceError(f"no experiment {name!r} in {self.root}")
        return found

    def _experiment_folder(self, experiment: SourceExperiment) -> Path:
        return self.root / experiment.id

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]:
        folder = self._experiment_folder(experiment)
        for run_folder in sorted(folder.iterdir(), key=lambda p: p.name):
            meta_path = run_folder / "meta.yaml"
            if not run_folder.is_dir() or not meta_path.is_file():
                continue
            meta = _load_yaml(meta_path)
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            run_id = str(meta.get("run_id") or meta.get("run_uuid") or run_folder.name)
            tags = _read_values(run_folder / "tags")
            yield SourceRun(
                id=run_id,
                experiment_id=experiment.id,
                name=str(meta.get("run_name") or tags.get("mlflow.runName", "")),
                user=str(meta.get("user_id") or ""),
                status=_status(meta.get("status")),
                start_time=_millis(meta.get("start_time")) or 0,
                end_time=_millis(meta.get("end_time")),
                params=_read_values(run_folder / "params"),
                tags=tags,
                metric_keys=tuple(_key_files(run_folder / "metrics")),
            )

    def history(self, run: SourceRun, key: str) -> MetricSeries:
        path = self.root / run.experiment_id / run.id / "metrics" / key
        points: list[tuple[int, int, float]] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                timestamp, value = int(parts[0]), float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
            except (IndexError, ValueError) as exc:
                raise SourceError(f"{path}:{number}: not a metric line: {line!r}") from exc
            points.append((timestamp, step, value))
        return MetricSeries.from_points(key, points)
