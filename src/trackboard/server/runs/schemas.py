"""Request and response bodies of the runs API."""

from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from trackboard.server.json_types import Millis
from trackboard.server.metrics.schemas import MetricSummaryRead, SummaryView

RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
TERMINAL_STATUSES = frozenset({"FINISHED", "FAILED", "KILLED"})


class RunCreate(BaseModel):
    id: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{32}$",
        description="Client-chosen id (32 hex); creating it again returns the existing run.",
    )
    name: str | None = Field(default=None, max_length=250)
    start_time: Millis | None = None
    user: str = Field(default="", max_length=256)
    status: RunStatus = "RUNNING"
    tags: dict[str, str] = {}
    params: dict[str, str] = {}


# Runs one `runs:batch` request creates at most (its body must also fit the default limit).
MAX_RUNS_PER_BATCH = 1000


class RunBatchCreate(BaseModel):
    runs: list[RunCreate] = Field(min_length=1, max_length=MAX_RUNS_PER_BATCH)


class RunBatchItem(BaseModel):
    id: str
    created: bool = Field(description="False: a run of this client id existed already.")


class RunBatchRead(BaseModel):
    runs: list[RunBatchItem] = Field(description="One per run of the request, in its order.")


# A client-chosen id of one write, the same on every retry: a write whose id the run has
# already applied changes nothing (see `replay.writes`). Shares the run's metric batch ids.
RequestId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RunUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=250)
    status: RunStatus | None = None
    end_time: Millis | None = None
    request_id: RequestId | None = None


class RunRead(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")

    id: str
    experiment_id: int
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, MetricSummaryRead]


class RunView(TypedDict):
    """`RunRead` as plain JSON-ready data, for pages of many runs."""

    id: str
    experiment_id: int
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, SummaryView]


class ParamsBody(BaseModel):
    params: dict[str, str]
    request_id: RequestId | None = None


class ParamsRead(BaseModel):
    params: dict[str, str]


class TagsBody(BaseModel):
    tags: dict[str, str]
    request_id: RequestId | None = None


class TagsRead(BaseModel):
    tags: dict[str, str]


class WriteQueued(BaseModel):
    """A 202: the database is unreachable, and the write waits in the replay queue; it is
    applied in order with the run's other queued writes once the database is back."""

    run_id: str
    request_id: str | None


class AlertCreate(BaseModel):
    """`run.alert(...)` of the client: a message from the training script to the run's
    notification rules (`run.alert` triggers)."""

    title: str = Field(min_length=1, max_length=300)
    text: str = Field(default="", max_length=10_000)
    level: Literal["info", "warn", "error"] = "info"
    # Chosen by the client and the same on every retry: one alert notifies once.
    alert_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w-]+$")


class AlertAccepted(BaseModel):
    event_id: str
