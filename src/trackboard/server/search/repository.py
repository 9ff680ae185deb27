"""Compile parsed filters and order terms into one parameterised SELECT over runs.

Each metric, param or tag named in the filter joins its own alias of the summary, param or
tag table on (run, key), so "latest value of K across the experiment's runs" is an index
range scan on `metric_summaries (experiment_id, key, last_value)`.

The run search is built from Core tables, not ORM entities: building and compiling ORM
aliases cost several milliseconds a search, as much as running the query.
"""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import (
    Experiment,
    ExperimentTag,
    MetricSummary,
    Run,
    RunFields,
    RunParam,
    RunTag,
)
from trackboard.server.search.filter_parser import Comparison, Identifier, OrderTerm

RUNS = Run.__table__
SUMMARIES = MetricSummary.__table__
PARAMS = RunParam.__table__
TAGS = RunTag.__table__

ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "status": RUNS.c.status,
    "run_name": RUNS.c.name,
    "user": RUNS.c.user,
    "run_id": RUNS.c.id,
    "lifecycle_stage": RUNS.c.lifecycle_stage,
    "start_time": RUNS.c.start_time,
    "end_time": RUNS.c.end_time,
}


def _compare(
    column: Any, operator: str, value: float | str | tuple[str, ...] | None
) -> ColumnElement[bool]:
    match operator:
        case "IS NULL":
            return column.is_(None)  # type: ignore[no-any-return]
        case "IS NOT NULL":
            return column.is_not(None)  # type: ignore[no-any-return]
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
        # Columns already joined by an inner join of the filter, by target: an order term
        # on the same key reuses them, which lets PostgreSQL walk the summary index in order.
        self.inner_columns: dict[Identifier, Any] = {}
        self.query: Select[Any] = select(*RUNS.c).where(
            RUNS.c.lifecycle_stage.in_(list(lifecycle_stages))
        )
        self.experiment_restricted = False

    def _value_column(self, target: Identifier, *, outer: bool) -> Any:
        """The column holding `target`'s value, joining what it needs."""
        if target.kind == "attribute":
            return ATTRIBUTE_COLUMNS[target.key]
        if target.kind == "metric":
            summary = SUMMARIES.alias()
            on = and_(
                summary.c.run_id == RUNS.c.id,
                summary.c.key == target.key,
                summary.c.experiment_id.in_(self.experiment_ids),
            )
            self.query = self.query.join_from(RUNS, summary, on, isouter=outer)
            self.experiment_restricted |= not outer
            return summary.c.last_value
        entity = (PARAMS if target.kind == "param" else TAGS).alias()
        on = and_(entity.c.run_id == RUNS.c.id, entity.c.key == target.key)
        self.query = self.query.join_from(RUNS, entity, on, isouter=outer)
        return entity.c.value

    def where(self, comparison: Comparison) -> None:
        # "IS NULL" needs the rows without the key, so only it joins outer.
        outer = comparison.operator == "IS NULL"
        column = self.inner_columns.get(comparison.target) if not outer else None
        if column is None:
            column = self._value_column(comparison.target, outer=outer)
            if not outer:
                self.inner_columns[comparison.target] = column
        self.query = self.query.where(_compare(column, comparison.operator, comparison.value))

    def restrict_experiments(self) -> None:
        """Keep runs of the searched experiments. An inner join on a metric summary already
        does (a summary copies its run's experiment id, and runs never change experiment);
        saying it on `runs` too makes PostgreSQL count the same restriction twice, expect
        a tenth of the rows it gets, and sort a hash join instead of walking the index."""
        if not self.experiment_restricted:
            self.query = self.query.where(RUNS.c.experiment_id.in_(self.experiment_ids))

    def order_by(self, term: OrderTerm) -> None:
        column = self.inner_columns.get(term.target)
        if column is None:
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
) -> Sequence[RunFields]:
    """One page of matching runs, as plain rows of the run's columns."""
    builder = _QueryBuilder(experiment_ids, lifecycle_stages)
    for comparison in comparisons:
        builder.where(comparison)
    for term in order:
        builder.order_by(term)
    builder.restrict_experiments()
    # MLflow's tie-breakers: newest first, then by id, so pages never overlap.
    query = builder.query.order_by(RUNS.c.start_time.desc(), RUNS.c.id.asc())
    # Plain rows of the run's columns rather than ORM instances, which cost more than the
    # query for a page of 1,000 runs.
    rows: Sequence[RunFields] = (await session.execute(query.offset(offset).limit(limit))).all()
    return rows


EXPERIMENT_COLUMNS: dict[str, Any] = {
    "name": Experiment.name,
    "experiment_id": Experiment.id,
    "creation_time": Experiment.creation_time,
    "last_update_time": Experiment.last_update_time,
}


def _experiment_condition(comparison: Comparison) -> ColumnElement[bool]:
    target, operator, value = comparison.target, comparison.operator, comparison.value
    if target.kind == "tag":
        tag = and_(ExperimentTag.experiment_id == Experiment.id, ExperimentTag.key == target.key)
        if operator == "IS NULL":
            return ~select(ExperimentTag.key).where(tag).exists()
        if operator == "IS NOT NULL":
            return select(ExperimentTag.key).where(tag).exists()
        return (
            select(ExperimentTag.key)
            .where(tag, _compare(ExperimentTag.value, operator, value))
            .exists()
        )
    return _compare(EXPERIMENT_COLUMNS[target.key], operator, value)


async def select_experiments_matching(
    session: AsyncSession,
    *,
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    order: Sequence[OrderTerm],
    offset: int,
    limit: int,
    project_ids: Collection[int] | None = None,
) -> Sequence[Experiment]:
    """Experiments meeting every comparison (experiment ids already as integers), only in
    `project_ids` when given."""
    query = select(Experiment).where(Experiment.lifecycle_stage.in_(list(lifecycle_stages)))
    if project_ids is not None:
        query = query.where(Experiment.project_id.in_(sorted(project_ids)))
    for comparison in comparisons:
        query = query.where(_experiment_condition(comparison))
    for term in order:
        column = EXPERIMENT_COLUMNS[term.target.key]
        query = query.order_by(column.asc() if term.ascending else column.desc())
    return (await session.scalars(query.offset(offset).limit(limit))).all()
