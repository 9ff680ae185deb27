"""Read W&B offline run directories (`wandb/offline-run-*/run-*.wandb`) as an import
source: each run's config as params, tags, history rows as metrics at their `_step` (with
their `_timestamp`), and its exit code as the status.

A `.wandb` file is a LevelDB-style log of `wandb_internal_pb2.Record` messages; wandb 0.31
reads it only inside its Go service, so the framing is read here (32 KiB blocks after a
7-byte header, records split into FULL/FIRST/MIDDLE/LAST chunks with a masked-free CRC-32)
and each record decoded with the installed `wandb` package's protobuf classes. Runs go to
an experiment named after their W&B project unless one is chosen."""

import json
import struct
import zlib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trackboard.importer.records import MetricSeries, SourceError, SourceExperiment, SourceRun
from trackboard.importer.tensorboard import metric_key

FILE_HEADER = struct.Struct("<4sHB")
FILE_IDENT, FILE_MAGIC = b":W&B", 0xBEE1
RECORD_HEADER = struct.Struct("<IHB")
BLOCK_SIZE = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
# History keys W&B adds to every row: the row's step, time and seconds since the start.
STEP_KEY, TIME_KEY = "_step", "_timestamp"


def read_records(path: Path) -> Iterator[bytes]:
    """The payloads of the log at `path`, in order; a torn last record (a crash) ends it."""
    data = path.read_bytes()
    if len(data) < FILE_HEADER.size:
        raise SourceError(f"{path} is not a W&B run file (too short)")
    ident, magic, _version = FILE_HEADER.unpack_from(data)
    if ident != FILE_IDENT or magic != FILE_MAGIC:
        raise SourceError(f"{path} is not a W&B run file")
    position, pending = FILE_HEADER.size, bytearray()
    while position + RECORD_HEADER.size <= len(data):
        room = BLOCK_SIZE - position % BLOCK_SIZE
        if room < RECORD_HEADER.size:  # the block's tail is padding
            position += room
            continue
        checksum, length, kind = RECORD_HEADER.unpack_from(data, position)
        start = position + RECORD_HEADER.size
        chunk = data[start : start + length]
        if kind == 0 or len(chunk) < length:
            return
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != checksum:
            raise SourceError(f"{path}: record at byte {position} fails its checksum")
        position = start + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = bytearray(chunk)
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield bytes(pending + chunk)
            pending = bytearray()


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _number(value: Any) -> float | None:
    """History values that are numbers; W&B writes non-finite ones as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("NaN", "nan", "Infinity", "-Infinity", "inf", "-inf"):
        return float(value.replace("Infinity", "inf"))
    return None


class WandbRun:
    """One `.wandb` file read whole."""

    def __init__(self, path: Path) -> None:
        try:
            from wandb.proto import wandb_internal_pb2
        except ImportError as exc:
            raise SourceError("importing W&B runs needs wandb: pip install wandb") from exc
        self.id = path.stem.removeprefix("run-")
        self.project = ""
        self.name = ""
        self.start_ms = 0
        self.end_ms: int | None = None
        self.status = "RUNNING"  # until an exit record says otherwise (a crashed process)
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.points: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        for payload in read_records(path):
            record = wandb_internal_pb2.Record.FromString(payload)  # type: ignore[attr-defined]
            self._take(record, record.WhichOneof("record_type"))
        last_point = max((p[0] for points in self.points.values() for p in points), default=0)
        if self.end_ms is not None:
            # The exit record counts whole seconds: never end before the last point.
            self.end_ms = max(self.end_ms, last_point)

    def _take(self, record: Any, kind: str | None) -> None:
        if kind == "run":
            run = record.run
            self.id = run.run_id or self.id
            self.project = run.project
            self.name = run.display_name
            self.start_ms = run.start_time.seconds * 1000 + run.start_time.nanos // 1_000_000
            self.tags.update({metric_key(f"wandb.tag.{tag}"): "true" for tag in run.tags})
            self._config(run.config)
        elif kind == "config":
            self._config(record.config)
        elif kind == "history":
            self._history(record.history)
        elif kind == "exit":
            self.status = "FINISHED" if record.exit.exit_code == 0 else "FAILED"
            self.end_ms = self.start_ms + round(record.exit.runtime * 1000) or None

    def _config(self, config: Any) -> None:
        for item in config.update:
            key = item.key or ".".join(item.nested_key)
            if key == "_wandb":
                continue  # W&B's own bookkeeping (versions, telemetry)
            value = _json_value(item.value_json)
            if isinstance(value, dict) and "value" in value:
                value = value["value"]  # config items stored as {"desc": …, "value": …}
            if isinstance(value, dict):
                for inner, leaf in value.items():
                    self.params[f"{key}.{inner}"] = _param_text(leaf)
            else:
                self.params[key] = _param_text(value)

    def _history(self, history: Any) -> None:
        row = {
            item.key or "/".join(item.nested_key): _json_value(item.value_json)
            for item in history.item
        }
        step = int(row.get(STEP_KEY, history.step.num))
        seconds = row.get(TIME_KEY)
        millis = round(seconds * 1000) if isinstance(seconds, (int, float)) else self.start_ms
        for key, value in row.items():
            number = _number(value)
            if key.startswith("_") or number is None:
                continue
            self.points[metric_key(key)].append((millis, step, number))


class WandbOfflineSource:
    """Offline runs under `location`: a `wandb` folder, a folder holding one, one
    `offline-run-*` folder, or one `.wandb` file."""

    def __init__(self, location: str, experiment: str | None = None) -> None:
        self.root = Path(location).expanduser().resolve()
        if not self.root.exists():
            raise SourceError(f"{self.root} does not exist")
        self.description = f"wandb:{self.root}"
        self._experiment_name = experiment
        self._runs: dict[str, WandbRun] = {}

    def close(self) -> None:
        self._runs.clear()

    def run_files(self) -> list[Path]:
        if self.root.is_file():
            return [self.root]
        return sorted(self.root.rglob("run-*.wandb"))

    def _read(self) -> dict[str, WandbRun]:
        if not self._runs:
            for path in self.run_files():
                run = WandbRun(path)
                self._runs[run.id] = run
            if not self._runs:
                raise SourceError(f"no W&B run files (run-*.wandb) under {self.root}")
        return self._runs

    def experiments(self, name: str | None = None) -> list[SourceExperiment]:
        names = sorted(
            {self._experiment_name or r.project or "wandb" for r in self._read().values()}
        )
        found = [SourceExperiment(n, n) for n in names if name is None or n == name]
        if name is not None and not found:
            raise SourceError(f"no W&B project {name!r} under {self.root}")
        return found

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]:
        for run in self._read().values():
            if (self._experiment_name or run.project or "wandb") != experiment.name:
                continue
            yield SourceRun(
                id=run.id,
                experiment_id=experiment.id,
                name=run.name,
                user="",
                status=run.status,
                start_time=run.start_ms,
                end_time=run.end_ms,
                params=run.params,
                tags={**run.tags, "wandb.run_id": run.id},
                metric_keys=tuple(sorted(run.points)),
            )

    def history(self, run: SourceRun, key: str) -> MetricSeries:
        return MetricSeries.from_points(key, self._runs[run.id].points[key])
