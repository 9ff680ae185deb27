"""Request and response bodies of run search."""

from typing import Literal

from pydantic import BaseModel, Field

from trackboard.server.json_types import ExperimentId
from trackboard.server.runs.schemas import RunRead


class RunSearch(BaseModel):
    experiment_ids: list[ExperimentId] = Field(min_length=1, max_length=1000)
    filter: str | None = Field(default=None, max_length=10_000)
    order_by: list[str] = Field(default=[], max_length=10)
    lifecycle_stage: Literal["active", "deleted", "all"] = "active"
    limit: int = Field(default=100, ge=1, le=1000)
    page_token: str | None = None


class RunPage(BaseModel):
    runs: list[RunRead]
    next_page_token: str | None


class RunGroup(BaseModel):
    # The runs' value of the column as text; null for the runs without it.
    value: str | None
    count: int


class RunGroups(BaseModel):
    by: str
    groups: list[RunGroup]
    # More distinct values than the groups answered (the largest ones are).
    truncated: bool
