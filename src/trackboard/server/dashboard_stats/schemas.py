"""Response body of the experiment dashboard aggregation."""

from typing import Literal

from pydantic import BaseModel

Goal = Literal["max", "min"]


class BestRun(BaseModel):
    run_id: str
    run_name: str
    value: float
    step: int


class DayCount(BaseModel):
    day: str  # YYYY-MM-DD, UTC
    runs: int


class ExperimentDashboard(BaseModel):
    experiment_id: int
    total_runs: int
    runs_by_status: dict[str, int]
    metric: str | None
    goal: Goal
    best: BestRun | None
    runs_per_day: list[DayCount]
    computed_at: int
