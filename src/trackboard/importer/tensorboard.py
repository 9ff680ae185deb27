"""Read a TensorBoard log directory as an import source: every folder holding event files
is one run (named by its path under the log directory), its scalars the run's metrics with
their steps and wall times, and the HParams plugin's session values the run's params.

Events are read with the `tensorboard` package's own reader (`pip install tensorboard`).
All runs go into one experiment, named after the log directory unless chosen."""

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trackboard.importer.records import MetricSeries, SourceError, SourceExperiment, SourceRun

EVENT_FILE_PATTERN = "*tfevents*"
_UNSAFE_KEY_CHARS = re.compile(r"[^/\w.\- :]")


def metric_key(tag: str) -> str:
    """A scalar's tag as a Trackboard key: characters keys may not hold become `_`."""
    key = _UNSAFE_KEY_CHARS.sub("_", tag).strip("/")
    return re.sub(r"/{2,}", "/", key) or "_"


def _loader(path: Path) -> Any:
    try:
        from tensorboard.backend.event_processing.event_file_loader import (  # type: ignore[import-untyped]
            LegacyEventFileLoader,
        )
    except ImportError as exc:
        raise SourceError(
            "importing TensorBoard logs needs tensorboard: pip install tensorboard"
        ) from exc
    return LegacyEventFileLoader(str(path))


def _hparam_value(value: Any) -> str:
    """A `google.protobuf.Value` as the text a param holds."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return str(int(number)) if number.is_integer() else repr(number)
    if kind == "bool_value":
        return str(value.bool_value)
    if kind == "string_value":
        return str(value.string_value)
    return ""


def _hparams(content: bytes) -> dict[str, str]:
    from tensorboard.plugins.hparams import plugin_data_pb2  # type: ignore[import-untyped]

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    if not data.HasField("session_start_info"):
        return {}
    return {name: _hparam_value(v) for name, v in data.session_start_info.hparams.items()}


def _scalar(value: Any) -> float | None:
    """The number a summary value holds if it is a scalar: a `simple_value` (tensorboardX,
    torch.utils.tensorboard) or a one-element tensor of the scalars plugin (TF 2)."""
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.metadata.plugin_data.plugin_name == "scalars" and value.HasField("tensor"):
        from tensorboard.util import tensor_util  # type: ignore[import-untyped]

        array = tensor_util.make_ndarray(value.tensor)
        return float(array.reshape(-1)[0]) if array.size == 1 else None
    return None


class RunEvents:
    """One event-file folder read whole: its scalar points by key, hparams, and times."""

    def __init__(self, folder: Path) -> None:
        self.points: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        self.params: dict[str, str] = {}
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        for path in sorted(folder.glob(EVENT_FILE_PATTERN)):
            if path.is_file():
                self._read(path)

    def _read(self, path: Path) -> None:
        try:
            events = list(_loader(path).Load())
        except Exception as exc:  # a corrupt file: the reader raises its own types
            raise SourceError(f"cannot read {path}: {exc}") from exc
        for event in events:
            millis = round(event.wall_time * 1000)
            if event.HasField("summary"):
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name == "hparams":
                        self.params.update(_hparams(value.metadata.plugin_data.content))
                        continue
                    number = _scalar(value)
                    if number is not None:
                        self.points[metric_key(value.tag)].append((millis, event.step, number))
            if event.wall_time:
                self.first_ms = millis if self.first_ms is None else min(self.first_ms, millis)
                self.last_ms = millis if self.last_ms is None else max(self.last_ms, millis)


class TensorBoardSource:
    """A log directory; `experiment` names the experiment its runs go to."""

    def __init__(self, logdir: str, experiment: str | None = None) -> None:
        self.root = Path(logdir).expanduser().resolve()
        if not self.root.is_dir():
            raise SourceError(f"{self.root} is not a folder")
        self.description = f"tensorboard:{self.root}"
        self._experiment = SourceExperiment("tensorboard", experiment or self.root.name)
        self._events: dict[str, RunEvents] = {}

    def close(self) -> None:
        self._events.clear()

    def run_folders(self) -> list[Path]:
        folders = {path.parent for path in self.root.rglob(EVENT_FILE_PATTERN) if path.is_file()}
        return sorted(folders)

    def experiments(self, name: str | None = None) -> list[SourceExperiment]:
        if name is not None and name != self._experiment.name:
            raise SourceError(f"the runs of {self.root} go to {self._experiment.name!r}")
        return [self._experiment]

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]:
        for folder in self.run_folders():
            run_id = folder.relative_to(self.root).as_posix()
            events = RunEvents(folder)
            self._events[run_id] = events
            yield SourceRun(
                id=run_id,
                experiment_id=experiment.id,
                name=self.root.name if run_id == "." else run_id,
                user="",
                status="FINISHED",
                start_time=events.first_ms or 0,
                end_time=events.last_ms,
                params=events.params,
                tags={"trackboard.import.source": "tensorboard"},
                metric_keys=tuple(sorted(events.points)),
            )

    def history(self, run: SourceRun, key: str) -> MetricSeries:
        return MetricSeries.from_points(key, self._events[run.id].points[key])
