"""What an import source yields: experiments, runs, metric series, dataset inputs, logged
models and artifact files, source-neutral."""

from dataclasses import dataclass, field

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class SourceError(Exception):
    """The source cannot be read (unreachable, refused, or not what it claims to be)."""


@dataclass(frozen=True)
class SourceDatasetInput:
    """One dataset a run used, as MLflow's `log_inputs` records it (all text fields)."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceArtifact:
    """One file under a run's artifact root: its `/`-separated path and size in bytes."""

    path: str
    size: int | None


@dataclass(frozen=True)
class SourceExperiment:
    id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRun:
    id: str
    experiment_id: str
    name: str
    user: str
    status: str
    start_time: int
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metric_keys: tuple[str, ...] = ()
    inputs: tuple[SourceDatasetInput, ...] = ()
    # MLflow 3 logged models the run used (ids) and produced (id, step), by source ids.
    model_inputs: tuple[str, ...] = ()
    model_outputs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ModelMetric:
    """A metric value logged with a model's id (MLflow 3): it is also a point of the run
    `run_id`'s history, measured on dataset `dataset_name`/`dataset_digest` if named."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str = ""
    dataset_digest: str = ""


@dataclass(frozen=True)
class SourceModel:
    """An MLflow 3 logged model; `status` is READY, FAILED or PENDING; times in ms."""

    id: str
    experiment_id: str
    name: str
    model_type: str
    status: str
    source_run_id: str | None
    creation_time: int = 0
    last_update_time: int = 0
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: tuple[ModelMetric, ...] = ()


@dataclass(frozen=True)
class MetricSeries:
    """One key's points in MLflow's history order (timestamp, step, value)."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_points(cls, key: str, points: list[tuple[int, int, float]]) -> "MetricSeries":
        """From (timestamp, step, value) triples, sorted into history order."""
        ordered = sorted(points, key=lambda p: (p[0], p[1], _sort_value(p[2])))
        return cls(
            key,
            [p[1] for p in ordered],
            [p[0] for p in ordered],
            [p[2] for p in ordered],
        )


def _sort_value(value: float) -> float:
    # NaN sorts last, so that the order is total and the same on every read.
    return float("inf") if value != value else value
