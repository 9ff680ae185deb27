"""Request body of the run export."""

from typing import Literal

from pydantic import BaseModel, Field

from trackboard.server.json_types import ExperimentId


class RunExport(BaseModel):
    """The body of `/runs/search` without paging, plus the file format and its columns."""

    experiment_ids: list[ExperimentId] = Field(min_length=1, max_length=1000)
    filter: str | None = Field(default=None, max_length=10_000)
    order_by: list[str] = Field(default=[], max_length=10)
    lifecycle_stage: Literal["active", "deleted", "all"] = "active"
    format: Literal["csv", "jsonl"] = "csv"
    # `id`, `name`, ... or `params.<key>`, `tags.<key>`, `metrics.<key>`, in file order;
    # absent: every attribute, then every key any matching run has.
    columns: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
