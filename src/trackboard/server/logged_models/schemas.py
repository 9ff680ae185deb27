"""What the logged-model service hands its doors: a model with its params, tags, metrics."""

from dataclasses import dataclass, field

from trackboard.server.models import LoggedModel, LoggedModelMetric

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
PENDING = "LOGGED_MODEL_PENDING"
# MLflow's default page size of a logged-model search, and the limit of one page.
DEFAULT_SEARCH_RESULTS = 100
MAX_SEARCH_RESULTS = 50_000


@dataclass
class ModelView:
    model: LoggedModel
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[LoggedModelMetric] = field(default_factory=list)


@dataclass(frozen=True)
class ModelMetricIn:
    """One point logged with a `model_id` (also stored as a point of its run)."""

    model_id: str
    key: str
    value: float
    timestamp: int
    step: int
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class OrderBy:
    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass
class ModelPage:
    models: list[ModelView]
    next_offset: int | None


@dataclass
class RunModels:
    """A run's model inputs (ids) and outputs (id, step), in the order they were logged."""

    inputs: list[str] = field(default_factory=list)
    outputs: list[tuple[str, int]] = field(default_factory=list)
