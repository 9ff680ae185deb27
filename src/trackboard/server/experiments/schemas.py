"""Request and response bodies of the experiments API."""

from typing import Literal

from pydantic import BaseModel, Field

from trackboard.server.json_types import IdField

LifecycleFilter = Literal["active", "deleted", "all"]


class ExperimentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    tags: dict[str, str] = {}
    # With auth on: the project it goes to (default: the API key's project).
    project_id: IdField | None = None


class ExperimentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    tags: dict[str, str] | None = None


class ExperimentRead(BaseModel):
    id: int
    name: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int
    last_update_time: int
    # The project it belongs to (None with auth off): the dashboard offers editing controls
    # by the caller's role there. The server still decides every write.
    project_id: int | None = None


class ExperimentListItem(ExperimentRead):
    """An experiment in a list, with the run counts the experiments page shows."""

    # Its runs whose lifecycle stage is active (deleted runs are not counted).
    run_count: int
    # Of those, the runs whose status is RUNNING (the dashboard's name for them).
    active_run_count: int


class ExperimentPage(BaseModel):
    experiments: list[ExperimentListItem]
    next_page_token: str | None
