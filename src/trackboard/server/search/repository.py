"""Compile parsed filters and order terms into one parameterised SELECT over runs.

Each metric, param or tag named in the filter joins its own alias of the summary, param or
tag table on (run, key), so "latest value of K across the experiment's runs" is an index
range scan on `metric_summaries (experiment_id, key, last_value)`.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from trackboard.server.models import MetricSummary, Run, RunParam, RunTag
from trackboard.server.search.filter_parser import Comparison, Identifier, OrderTerm

ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "status": Run.status,
    "run_name": Run.name,
    "user": Run.user,
    "run_id": Run.id,
    "lifecycle_stage": Run.lifecycle_stage,
    "start_time": Run.start_time,
    "end_time": Run.end_time,
}


def _compare(column: Any, operator: str, value: float | str | tuple[str, ...]) -> ColumnElement[bool]:
    match operator:
        case "=":
            return column == value  # type: ignore[no-any-return]
        case "!=":
            return column != value  # type: ignore[no-any-return]
        case ">":
            return column > value  # type: ignore[no-any-return]
        case ">=":
            return column >= value  # type: ignore[no-any-return]
        case "<":
            return column < value  # type: ignore[no-any-return]
        case "<=":
            return column <= value  # type: ignore[no-any-return]
        case "LIKE":
            return column.like(value)  # type: ignore[no-any-return]
        case "ILIKE":
            return column.ilike(value)  # type: ignore[no-any-return]
        case "IN":
            return column.in_(value)  # type: ignore[no-any-return]
        case "NOT IN":
            return column.not_in(value)  # type: ignore[no-any-return]
    raise ValueError(f"unknown operator {operator}")


class _QueryBuilder:
    def __init__(self, experiment_ids: Sequence[int], lifecycle_stages: Sequence[str]) -> None:
        self.experiment_ids = list(experiment_ids)
        self.query: Select[tuple[Run]] = select(Run).where(
            Run.experiment_id.in_(self.experiment_ids),
            Run.lifecycle_stage.in_(list(lifecycle_stages)),
        )

    def _value_column(self, target: Identifier, *, outer: bool) -> Any:
        """The column holding `target`'s value, joining what it needs."""
        if target.kind == "attribute":
            return ATTRIBUTE_COLUMNS[target.key]
        if target.kind == "metric":
            summary = aliased(MetricSummary)
            on = and_(
                summary.run_id == Run.id,
                summary.key == target.key,
                summary.experiment_id.in_(self.experiment_ids),
            )
            self.query = self.query.join(summary, on, isouter=outer)
            return summary.last_value
        table = RunParam if target.kind == "param" else RunTag
        entity = aliased(table)  # type: ignore[arg-type]
        on = and_(entity.run_id == Run.id, entity.key == target.key)
        self.query = self.query.join(entity, on, isouter=outer)
        return entity.value

    def where(self, comparison: Comparison) -> None:
        column = self._value_column(comparison.target, outer=False)
        self.query = self.query.where(_compare(column, comparison.operator, comparison.value))

    def order_by(self, term: OrderTerm) -> None:
        column = self._value_column(term.target, outer=True)
        ordered = column.asc() if term.ascending else column.desc()
        self.query = self.query.order_by(ordered.nulls_last())


async def select_runs(
    session: AsyncSession,
    *,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    order: Sequence[OrderTerm],
    offset: int,
    limit: int,
) -> Sequence[Run]:
    builder = _QueryBuilder(experiment_ids, lifecycle_stages)
    for comparison in comparisons:
        builder.where(comparison)
    for term in order:
        builder.order_by(term)
    # MLflow's tie-breakers: newest first, then by id, so pages never overlap.
    query = builder.query.order_by(Run.start_time.desc(), Run.id.asc())
    return (await session.scalars(query.offset(offset).limit(limit))).all()
