"""The records a run sends, in memory and in the spool alike: metric batches in the API's
columnar form, and the run's creation, params, tags and final status.

Every record carries an `id`; a metric batch sends it as `batch_id`, so a record sent
twice (a retry, a resend from the spool) is stored once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trackboard.client.values import encode_float, to_metric_value

Record = dict[str, Any]
# One `run.log` call as the training thread leaves it: (step, time.time(), {key: value}).
Entry = tuple[int, float, Mapping[Any, Any]]

MAX_KEY_LENGTH = 250
# The server's (MLflow's) key rule, checked here so one bad key cannot sink a whole batch.
_KEY_PATTERN = re.compile(r"^[/\w.\- :]*$")


def new_id() -> str:
    return uuid.uuid4().hex


def record_points(record: Record) -> int:
    return int(record.get("points", 0))


def estimate_bytes(record: Record) -> int:
    """Rough memory a waiting record holds; only used to keep the buffer under its bound."""
    return 256 + 64 * record_points(record)


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"metric keys must be strings, got {type(key).__name__} {key!r}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"metric keys must have 1 to {MAX_KEY_LENGTH} characters, got {key!r}")
    if not _KEY_PATTERN.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise ValueError(f"invalid metric key {key!r}: use letters, digits, _ - . : / and spaces")
    return key


class MetricBatcher:
    """Turns log entries into metric records of at most `max_points` points each.

    A bad key or value is reported through `on_invalid` and left out, so one mistake does not
    make the server refuse a whole batch."""

    def __init__(self, max_points: int, on_invalid: Callable[[str, str], None]) -> None:
        self.max_points = max_points
        self._on_invalid = on_invalid
        self._columns: dict[str, tuple[list[int], list[Any], list[int]]] = {}
        self._points = 0
        self._ready: list[Record] = []

    def add(self, entries: Iterable[Entry]) -> None:
        columns = self._columns
        for raw_step, when, metrics in entries:
            timestamp = int(when * 1000)
            try:
                step = int(raw_step)
            except (TypeError, ValueError):
                self._on_invalid("step", f"steps must be integers, got {raw_step!r}")
                continue
            for key, value in metrics.items():
                column = columns.get(key)
                try:
                    if column is None:
                        column = columns[check_key(key)] = ([], [], [])
                    # Fast paths for plain floats and ints, by far the most common values
                    # (x - x is 0.0 for a finite float, NaN for NaN and the infinities).
                    kind = type(value)
                    if kind is float:
                        if value - value != 0.0:
                            value = encode_float(value)
                    elif kind is int:
                        value = float(value)
                    else:
                        value = to_metric_value(value)
                except (TypeError, ValueError, OverflowError) as exc:
                    self._on_invalid(str(key), str(exc))
                    continue
                column[0].append(step)
                column[1].append(value)
                column[2].append(timestamp)
                self._points += 1
                if self._points >= self.max_points:
                    self._seal()
                    columns = self._columns

    def _seal(self) -> None:
        if self._points:
            self._ready.append(
                metrics_record(
                    [
                        {"key": key, "steps": steps, "values": values, "timestamps": stamps}
                        for key, (steps, values, stamps) in self._columns.items()
                        if steps
                    ],
                    self._points,
                )
            )
        self._columns = {}
        self._points = 0

    def take(self) -> list[Record]:
        """All records built so far, the last one possibly short."""
        self._seal()
        ready, self._ready = self._ready, []
        return ready


def metrics_record(columns: list[dict[str, Any]], points: int) -> Record:
    return {"kind": "metrics", "id": new_id(), "points": points, "columns": columns}


def create_run_record(experiment: str, run: Mapping[str, Any]) -> Record:
    """A run created offline: the experiment by name, the run with its client-chosen id."""
    return {"kind": "create_run", "id": new_id(), "experiment": experiment, "run": dict(run)}


def run_header_record(run_id: str, experiment_id: int | None) -> Record:
    """Opens a spool of a run that the server already has."""
    return {"kind": "run", "id": new_id(), "run_id": run_id, "experiment_id": experiment_id}


def params_record(params: Mapping[str, str]) -> Record:
    return {"kind": "params", "id": new_id(), "params": dict(params)}


def tags_record(tags: Mapping[str, str]) -> Record:
    return {"kind": "tags", "id": new_id(), "tags": dict(tags)}


def status_record(status: str, end_time: int) -> Record:
    return {"kind": "status", "id": new_id(), "status": status, "end_time": end_time}


def alert_record(title: str, text: str, level: str) -> Record:
    """An alert for the run's notification rules; its id makes a retried send one alert."""
    return {"kind": "alert", "id": new_id(), "title": title, "text": text, "level": level}


def artifact_record(path: str, staged_file: str) -> Record:
    """A file for the run's artifacts at `path`, waiting in the run's staging folder; the
    upload is a PUT to that path, so sending it twice still leaves one file."""
    return {"kind": "artifact", "id": new_id(), "path": path, "file": staged_file}
