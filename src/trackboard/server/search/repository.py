"""Compile parsed filters and order terms into SELECTs over runs whose plans need no statistics.

A search reads one page: `select_runs` evaluates the filter and the sort on the runs of the
searched experiments, or only on a list of candidate ids (see `search.candidates`). Each
metric, param or tag compared or sorted by is a scalar subquery on its table's primary key
`(run_id, key)`: one index probe per run considered, whatever the planner believes about the
tables. Joins on `(experiment_id, key, value)` let PostgreSQL pick, for tables written
moments before and never analysed, a nested loop that scanned every summary of the key for
every run (45 s at 10k runs); a probe per run cannot go quadratic.

The run search is built from Core tables, not ORM entities: building and compiling ORM
aliases cost several milliseconds a search, as much as running the query.
"""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import one_of
from trackboard.server.models import (
    Experiment,
    ExperimentTag,
    MetricSummary,
    Run,
    RunDatasetInput,
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


def run_value(target: Identifier) -> Any:
    """The value of `target` for the run of the current `runs` row; NULL when the run has
    no such metric, param or tag (so every comparison but IS NULL drops it)."""
    if target.kind == "attribute":
        return ATTRIBUTE_COLUMNS[target.key]
    table = {"metric": SUMMARIES, "param": PARAMS, "tag": TAGS}[target.kind]
    column = table.c.last_value if target.kind == "metric" else table.c.value
    return (
        select(column)
        .where(table.c.run_id == RUNS.c.id, table.c.key == target.key)
        .scalar_subquery()
    )


def _has_dataset_input(comparison: Comparison) -> ColumnElement[bool]:
    """The run has a dataset input meeting the comparison (MLflow: any of its inputs)."""
    column = getattr(RunDatasetInput, comparison.target.key)
    return (
        select(RunDatasetInput.id)
        .where(
            RunDatasetInput.run_id == RUNS.c.id,
            _compare(column, comparison.operator, comparison.value),
        )
        .exists()
    )


def _runs_query(
    session: AsyncSession,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    order: Sequence[OrderTerm],
    candidate_ids: Sequence[str] | None,
) -> Select[Any]:
    query = select(*RUNS.c).where(RUNS.c.lifecycle_stage.in_(list(lifecycle_stages)))
    if candidate_ids is None:
        query = query.where(RUNS.c.experiment_id.in_(list(experiment_ids)))
    else:
        # `+ 0` keeps both stores from reading the experiment's index to check a few
        # candidates: PostgreSQL ANDed a bitmap of every run of the experiment (100k index
        # entries to keep 400 runs) with the candidates' one.
        query = query.where(
            one_of(session, RUNS.c.id, candidate_ids),
            (RUNS.c.experiment_id + 0).in_(list(experiment_ids)),
        )
    values: dict[Identifier, Any] = {}
    for comparison in comparisons:
        if comparison.target.kind == "dataset":
            query = query.where(_has_dataset_input(comparison))
            continue
        value = values.setdefault(comparison.target, run_value(comparison.target))
        query = query.where(_compare(value, comparison.operator, comparison.value))
    for term in order:
        value = values.setdefault(term.target, run_value(term.target))
        query = query.order_by((value.asc() if term.ascending else value.desc()).nulls_last())
    # MLflow's tie-breakers: newest first, then by id, so pages never overlap.
    return query.order_by(RUNS.c.start_time.desc(), RUNS.c.id.asc())


async def select_runs(
    session: AsyncSession,
    *,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    order: Sequence[OrderTerm],
    offset: int,
    limit: int,
    candidate_ids: Sequence[str] | None = None,
) -> Sequence[RunFields]:
    """One page of matching runs, as plain rows of the run's columns; with `candidate_ids`,
    of those runs only."""
    query = _runs_query(
        session, experiment_ids, lifecycle_stages, comparisons, order, candidate_ids
    )
    # Plain rows of the run's columns rather than ORM instances, which cost more than the
    # query for a page of 1,000 runs.
    rows: Sequence[RunFields] = (await session.execute(query.offset(offset).limit(limit))).all()
    return rows


async def count_runs_by_value(
    session: AsyncSession,
    *,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    by: Identifier,
    limit: int,
) -> Sequence[tuple[Any, int]]:
    """(value of `by`, runs) for the runs matching the comparisons, largest groups first,
    then by value; runs without `by` form the group of NULL. At most `limit` groups."""
    matching = (
        _runs_query(session, experiment_ids, lifecycle_stages, comparisons, [], None)
        .order_by(None)
        .with_only_columns(run_value(by).label("group_value"))
        .subquery()
    )
    count = func.count().label("runs")
    query = (
        select(matching.c.group_value, count)
        .group_by(matching.c.group_value)
        .order_by(count.desc(), matching.c.group_value.asc().nulls_last())
        .limit(limit)
    )
    return [(value, int(runs)) for value, runs in (await session.execute(query)).all()]


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
