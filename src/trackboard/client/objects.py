"""What `trackboard.Api` returns: plain dataclasses, and lists of them that turn into
pandas DataFrames when pandas is installed."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from trackboard.client.values import decode_float


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ImportError("to_pandas() needs pandas: pip install pandas") from exc


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int
    last_update_time: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Experiment:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            lifecycle_stage=str(data.get("lifecycle_stage", "active")),
            tags=dict(data.get("tags") or {}),
            creation_time=int(data.get("creation_time") or 0),
            last_update_time=int(data.get("last_update_time") or 0),
        )


@dataclass(frozen=True)
class MetricSummary:
    """The latest value of a metric, with its min, max and number of points."""

    value: float
    step: int
    timestamp: int
    min: float | None
    max: float | None
    count: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetricSummary:
        low, high = data.get("min"), data.get("max")
        return cls(
            value=decode_float(data["value"]),
            step=int(data.get("step", 0)),
            timestamp=int(data.get("timestamp", 0)),
            min=None if low is None else decode_float(low),
            max=None if high is None else decode_float(high),
            count=int(data.get("count", 0)),
        )


@dataclass(frozen=True)
class RunInfo:
    id: str
    experiment_id: int
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    lifecycle_stage: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        return cls(
            id=str(data["id"]),
            experiment_id=int(data["experiment_id"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status", "")),
            start_time=int(data.get("start_time") or 0),
            end_time=None if data.get("end_time") is None else int(data["end_time"]),
            user=str(data.get("user") or ""),
            lifecycle_stage=str(data.get("lifecycle_stage", "active")),
            params=dict(data.get("params") or {}),
            tags=dict(data.get("tags") or {}),
            metrics={
                key: MetricSummary.from_json(value)
                for key, value in (data.get("metrics") or {}).items()
            },
        )

    def row(self) -> dict[str, Any]:
        """One flat row: attributes, then `params.*`, `tags.*` and latest `metrics.*`."""
        row: dict[str, Any] = {
            "id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "user": self.user,
        }
        row.update({f"params.{k}": v for k, v in self.params.items()})
        row.update({f"tags.{k}": v for k, v in self.tags.items()})
        row.update({f"metrics.{k}": m.value for k, m in self.metrics.items()})
        return row


class ExperimentList(list[Experiment]):
    def to_pandas(self) -> Any:
        pandas = _pandas()
        columns = ["id", "name", "lifecycle_stage", "tags", "creation_time", "last_update_time"]
        return pandas.DataFrame([vars(e) for e in self], columns=columns)


class RunList(list[RunInfo]):
    def to_pandas(self) -> Any:
        return _pandas().DataFrame([run.row() for run in self])


@dataclass
class MetricHistory:
    """One metric series of one run, in step order."""

    run_id: str
    key: str
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def to_pandas(self) -> Any:
        return _pandas().DataFrame(
            {"step": self.steps, "value": self.values, "timestamp": self.timestamps}
        )
