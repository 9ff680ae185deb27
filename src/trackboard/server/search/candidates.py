"""Candidate runs of a search: the few runs its page can come from, read by one index range
scan each, whose plan needs no statistics.

Two kinds. A selective comparison (`select_filtered_run_ids`): the runs meeting it, when at
most `FILTER_CAP` do. A prefix of the sort (`select_leading_run_ids`): the first runs in the
order of the leading sort term, with every run tied with the last one. The page is then
evaluated on the candidates alone (`repository.select_runs`); from a prefix that is exact
when it yields a full page, since every run outside it sorts after every run inside.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.search.filter_parser import Comparison, Identifier, OrderTerm
from trackboard.server.search.repository import (
    PARAMS,
    RUNS,
    SUMMARIES,
    TAGS,
    _compare,
    run_value,
)

# A comparison met by at most this many runs drives the search: evaluating the filter and
# the sort on 2,000 runs costs a few index probes each, a few milliseconds.
FILTER_CAP = 2_000
RANGE_OPERATORS = {"=", ">", ">=", "<", "<="}
# Values up to this many characters are in the (key, value) indexes of params and tags
# (migration 0006); the predicate is written as a literal so that both stores see the
# query implies the partial index's condition.
SHORT_VALUE = 200


def _short(table: FromClause) -> ColumnElement[bool]:
    return func.length(table.c.value) <= literal_column(str(SHORT_VALUE))


def _long(table: FromClause) -> ColumnElement[bool]:
    return func.length(table.c.value) > literal_column(str(SHORT_VALUE))


def _key_value_table(target: Identifier) -> FromClause:
    return PARAMS if target.kind == "param" else TAGS


def _filter_query(experiment_ids: Sequence[int], comparison: Comparison) -> Select[Any] | None:
    """The ids of the runs meeting `comparison` by an index range scan, if one serves it."""
    target, operator, value = comparison.target, comparison.operator, comparison.value
    if target.kind == "metric" and operator in RANGE_OPERATORS:
        return select(SUMMARIES.c.run_id).where(
            SUMMARIES.c.experiment_id.in_(list(experiment_ids)),
            SUMMARIES.c.key == target.key,
            _compare(SUMMARIES.c.last_value, operator, value),
        )
    if target.kind in ("param", "tag"):
        values = value if isinstance(value, tuple) else (value,)
        if operator not in ("=", "IN") or any(len(str(v)) > SHORT_VALUE for v in values):
            return None
        # Params and tags do not carry the experiment: these are runs of any experiment,
        # which `repository.select_runs` sorts out.
        table = _key_value_table(target)
        return select(table.c.run_id).where(
            table.c.key == target.key, _short(table), _compare(table.c.value, operator, value)
        )
    if target.kind != "attribute":
        return None
    if target.key == "start_time" and operator in RANGE_OPERATORS:
        column = RUNS.c.start_time
    elif target.key == "run_id" and operator in ("=", "IN"):
        column = RUNS.c.id
    else:
        return None
    return select(RUNS.c.id).where(
        RUNS.c.experiment_id.in_(list(experiment_ids)), _compare(column, operator, value)
    )


@dataclass(frozen=True)
class Filtered:
    run_ids: list[str]
    # The comparisons every one of `run_ids` meets: the page need not test them again.
    met: list[Comparison]


async def select_filtered_run_ids(
    session: AsyncSession, experiment_ids: Sequence[int], comparisons: Sequence[Comparison]
) -> Filtered | None:
    """The runs meeting every comparison that an index serves and that at most
    `FILTER_CAP` runs meet (a superset of the matching runs); None when there is none."""
    chosen: set[str] | None = None
    met = []
    for comparison in comparisons:
        query = _filter_query(experiment_ids, comparison)
        if query is None:
            continue
        # Counted in the database first: the ids of an unselective comparison would be
        # read only to be dropped.
        capped = query.limit(FILTER_CAP + 1).subquery()
        if (await session.scalar(select(func.count()).select_from(capped)) or 0) > FILTER_CAP:
            continue
        ids = (await session.scalars(query)).all()
        chosen = set(ids) if chosen is None else chosen & set(ids)
        met.append(comparison)
    return None if chosen is None else Filtered(sorted(chosen), met)


@dataclass(frozen=True)
class Prefix:
    run_ids: list[str]
    # Every run that can match is among `run_ids`: the page read from them is the page.
    complete: bool


async def select_leading_run_ids(
    session: AsyncSession,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    leading: OrderTerm | None,
    count: int,
    *,
    only_term: bool = False,
) -> Prefix | None:
    """The first `count` runs in the order of `leading` (None: newest first), with the runs
    tied with the last of them; None when no index gives that order. When `leading` is the
    search's only sort term (`only_term`), of the tied runs only the first `count` in the
    tie-breaking order (newest first, then by id)."""
    experiments = RUNS.c.experiment_id.in_(list(experiment_ids))
    if leading is None or (
        leading.target.kind == "attribute" and leading.target.key == "start_time"
    ):
        descending = leading is None or not leading.ascending
        id_column, column = RUNS.c.id, RUNS.c.start_time
        query = select(id_column, column).where(
            experiments, RUNS.c.lifecycle_stage.in_(list(lifecycle_stages))
        )
        # Runs without a value sort last; start_time is never NULL.
        runs_without_value = False
    elif leading.target.kind == "metric":
        descending = not leading.ascending
        id_column, column = SUMMARIES.c.run_id, SUMMARIES.c.last_value
        query = select(id_column, column).where(
            SUMMARIES.c.experiment_id.in_(list(experiment_ids)),
            SUMMARIES.c.key == leading.target.key,
            column.is_not(None),
        )
        runs_without_value = True
    elif leading.target.kind in ("param", "tag"):
        descending = not leading.ascending
        table = _key_value_table(leading.target)
        id_column, column = table.c.run_id, table.c.value
        query = select(id_column, column).where(table.c.key == leading.target.key, _short(table))
        runs_without_value = True
    else:
        return None
    rows = (
        await session.execute(
            query.order_by(column.desc() if descending else column.asc()).limit(count)
        )
    ).all()
    chosen = {row[0] for row in rows}
    reached = None
    if len(rows) == count:
        last = rows[-1][1]
        reached = column <= last if not descending else column >= last
        tied = query.with_only_columns(id_column).where(column == last)
        many = only_term and leading is not None and leading.target.kind != "attribute"
        if many:
            capped = tied.limit(count + 1).subquery()
            many = (await session.scalar(select(func.count()).select_from(capped)) or 0) > count
        if many:
            assert leading is not None
            # More than `count` runs tie with the last (a param with four values ties a
            # quarter of them): only the first `count` of them by the tie-breakers can reach
            # the page, found walking the runs newest first. The tied runs the index gave in
            # its own order are dropped: later ones among them would sort after runs left out.
            chosen = {row[0] for row in rows if row[1] != last}
            chosen.update(
                await _newest_runs(session, experiments, lifecycle_stages, leading, last, count)
            )
        else:
            chosen.update((await session.scalars(tied)).all())
    if leading is not None and leading.target.kind in ("param", "tag"):
        # Values too long for the index, compared by the database as the page's sort does:
        # those sorting up to the last of the prefix belong to it.
        table = _key_value_table(leading.target)
        long_values = select(table.c.run_id).where(table.c.key == leading.target.key, _long(table))
        if reached is not None:
            long_values = long_values.where(reached)
        chosen.update((await session.scalars(long_values)).all())
    return Prefix(sorted(chosen), complete=len(rows) < count and not runs_without_value)


async def _newest_runs(
    session: AsyncSession,
    experiments: ColumnElement[bool],
    lifecycle_stages: Sequence[str],
    leading: OrderTerm,
    value: Any,
    count: int,
) -> set[str]:
    """The newest `count` runs whose `leading` value is `value`, with those as old as the last.

    Ordered by start time alone: with the id as well, PostgreSQL (expecting one run) sorted
    every run of the experiment instead of walking its start-time index and stopping."""
    query = select(RUNS.c.id, RUNS.c.start_time).where(
        experiments,
        RUNS.c.lifecycle_stage.in_(list(lifecycle_stages)),
        run_value(leading.target) == value,
    )
    rows = (await session.execute(query.order_by(RUNS.c.start_time.desc()).limit(count))).all()
    found = {row[0] for row in rows}
    if len(rows) == count:
        as_old = query.with_only_columns(RUNS.c.id).where(RUNS.c.start_time == rows[-1][1])
        found.update((await session.scalars(as_old)).all())
    return found
