"""Request and response bodies of POST /api/v1/runs/compare."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from trackboard.server.identifiers import INT64_MAX, RunId
from trackboard.server.json_types import INT64_MIN
from trackboard.server.limits import MAX_NAME_LENGTH

# A chart of at most this many runs, in at most this many groups: each run costs a series
# read, so the bound is what keeps one request's work bounded.
MAX_COMPARE_RUNS = 500
MAX_COMPARE_GROUPS = 100
MAX_GROUP_NAME_LENGTH = 1000
MAX_COMPARE_POINTS = 10_000

Step = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompareGroup(Strict):
    """Runs drawn as one mean line with bands; `name` is handed back as it came."""

    name: str = Field(max_length=MAX_GROUP_NAME_LENGTH)
    run_ids: list[RunId] = Field(min_length=1, max_length=MAX_COMPARE_RUNS)


class CompareSeriesQuery(Strict):
    # Every run the chart draws: the gateway authorizes each one of this list.
    run_ids: list[RunId] = Field(min_length=1, max_length=MAX_COMPARE_RUNS)
    key: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    x: Literal["step", "time", "relative"] = "step"
    # Groups of `run_ids` reduced to bands; none: one line per run.
    groups: list[CompareGroup] | None = Field(default=None, max_length=MAX_COMPARE_GROUPS)
    # Per-run lines as well as groups (always there when ungrouped).
    lines: bool = False
    max_points: StrictInt = Field(default=1000, ge=10, le=MAX_COMPARE_POINTS)
    start_step: Step | None = None
    end_step: Step | None = None
    # Applied to each run's series before groups are reduced (lines come back raw).
    smoothing: float = Field(default=0.0, ge=0.0, le=0.99)
    log: bool = False

    @model_validator(mode="after")
    def groups_within_runs(self) -> "CompareSeriesQuery":
        named = set(self.run_ids)
        for group in self.groups or []:
            outside = [r for r in group.run_ids if r not in named]
            if outside:
                # The gateway checks `run_ids` only: a group cannot reach past it.
                raise ValueError(f"group {group.name!r} names runs not in run_ids: {outside[:3]}")
        return self


class RunLine(BaseModel):
    """A run's series downsampled (as GET /runs/{id}/metrics/{key}?format=columns)."""

    run_id: str
    steps: list[int]
    values: list[float | str]
    timestamps: list[int]


class GroupBand(BaseModel):
    """A group on the common grid `x`: how many runs have a value at each x, their mean,
    min, max and population std, and their mean step there; null where no run has one."""

    name: str
    run_count: int
    x: list[float]
    count: list[int]
    mean: list[float | None]
    min: list[float | None]
    max: list[float | None]
    std: list[float | None]
    steps: list[float | None]


class CompareSeries(BaseModel):
    key: str
    x: Literal["step", "time", "relative"]
    # Runs of `run_ids` that log the key (in their order), when lines were asked for.
    lines: list[RunLine]
    groups: list[GroupBand]
