"""Request and response bodies of the metrics API."""

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from trackboard.server.limits import MAX_POINTS_PER_BATCH

# Strict: a JSON `true` or a quoted step is a client bug, not a number to coerce.
MetricValue = StrictFloat | StrictInt | str


class MetricPointIn(BaseModel):
    key: str
    value: MetricValue
    step: StrictInt = 0
    timestamp: StrictInt | None = None


class MetricColumnsIn(BaseModel):
    """One key's points as parallel arrays: cheaper to parse than one object a point."""

    key: str
    steps: list[StrictInt]
    values: list[MetricValue]
    timestamps: list[StrictInt] | None = None


class MetricBatch(BaseModel):
    batch_id: str | None = Field(default=None, min_length=1, max_length=64)
    metrics: list[MetricPointIn] = Field(default=[], max_length=MAX_POINTS_PER_BATCH)
    columns: list[MetricColumnsIn] = []


class BatchAccepted(BaseModel):
    accepted: int
    duplicate: bool
    # The batch's id (assigned by the API when the client sent none, in distributed mode).
    batch_id: str | None
    # False on a 202: queued; readable once `GET /api/v1/runs/{id}/batches` lists it committed.
    committed: bool


class BatchStatusRead(BaseModel):
    """Of the batch ids asked about, those committed (their points are readable) and those
    not (still queued, or never received)."""

    committed: list[str]
    pending: list[str]


class SummaryView(TypedDict):
    """`MetricSummaryRead` as plain JSON-ready data (non-finite values already as words),
    for pages of many runs, where building models cost more than the query."""

    value: float | str
    step: int
    timestamp: int
    min: float | str | None
    max: float | str | None
    count: int


class MetricSummaryRead(BaseModel):
    # Non-finite values travel as "NaN", "Infinity", "-Infinity", as MLflow does.
    model_config = ConfigDict(ser_json_inf_nan="strings")

    value: float
    step: int
    timestamp: int
    min: float | None
    max: float | None
    count: int
