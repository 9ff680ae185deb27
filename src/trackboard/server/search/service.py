"""Search runs by MLflow's filter language, one page at a time."""

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.errors import InvalidParameter
from trackboard.server.experiments import service as experiments
from trackboard.server.models import Experiment, RunFields
from trackboard.server.search import candidates, repository
from trackboard.server.search.experiment_filter import (
    parse_experiment_filter,
    parse_experiment_order_by,
)
from trackboard.server.search.filter_parser import (
    Comparison,
    Identifier,
    OrderTerm,
    parse_filter,
    parse_order,
    parse_order_by,
)

# The first sort prefix tried, in runs per run of the page (a filter met by one run in 8
# fills the page from it), and the most candidates a page is read from: past it, every
# run is evaluated (SQLite also binds at most 32,766 values in one statement).
FIRST_PREFIX_FACTOR = 8
MAX_PREFIX = 20_000
LIFECYCLE_STAGES = {"active": ("active",), "deleted": ("deleted",), "all": ("active", "deleted")}


@dataclass(frozen=True)
class RunSearchPage:
    runs: Sequence[RunFields]
    next_offset: int | None


async def search_runs(
    session: AsyncSession,
    *,
    experiment_ids: Sequence[int],
    filter_text: str | None,
    order_by: Sequence[str],
    lifecycle: str = "active",
    offset: int = 0,
    limit: int = 100,
) -> RunSearchPage:
    """Runs matching every comparison in `filter_text`, sorted by `order_by` then newest first."""
    comparisons = parse_filter(filter_text)
    order = parse_order(order_by)
    runs = await _select_page(
        session, experiment_ids, LIFECYCLE_STAGES[lifecycle], comparisons, order, offset, limit + 1
    )
    has_more = len(runs) > limit
    return RunSearchPage(runs[:limit], offset + limit if has_more else None)


async def _select_page(
    session: AsyncSession,
    experiment_ids: Sequence[int],
    lifecycle_stages: Sequence[str],
    comparisons: Sequence[Comparison],
    order: Sequence[OrderTerm],
    offset: int,
    limit: int,
) -> Sequence[RunFields]:
    """The page, read from the fewest runs that are sure to hold it.

    The filter and the sort cost an index probe per run they are evaluated on, so they are
    evaluated on candidates (`search.candidates`) first: the runs meeting a selective
    comparison, else growing prefixes of the sort order, else, when neither holds the page,
    every run of the experiments. Which comes first does not depend on table statistics,
    which PostgreSQL lacks for rows written moments before."""

    async def page(
        candidate_ids: Sequence[str] | None, met: Sequence[Comparison] = ()
    ) -> Sequence[RunFields]:
        return await repository.select_runs(
            session,
            experiment_ids=experiment_ids,
            lifecycle_stages=lifecycle_stages,
            comparisons=[comparison for comparison in comparisons if comparison not in met],
            order=order,
            offset=offset,
            limit=limit,
            candidate_ids=candidate_ids,
        )

    filtered = await candidates.select_filtered_run_ids(session, experiment_ids, comparisons)
    if filtered is not None:
        return await page(filtered.run_ids, filtered.met)
    # A filter on attributes alone costs no probe per run: one prefix, then every run.
    attempts = 1 if all(c.target.kind == "attribute" for c in comparisons) else 2
    needed = offset + limit
    # Without a filter, only runs of another lifecycle stage are lost from a prefix.
    count = needed * (FIRST_PREFIX_FACTOR if comparisons else 1)
    leading = order[0] if order else None
    for _ in range(attempts):
        if count > MAX_PREFIX:
            break
        prefix = await candidates.select_leading_run_ids(
            session, experiment_ids, lifecycle_stages, leading, count, only_term=len(order) == 1
        )
        if prefix is None or len(prefix.run_ids) > MAX_PREFIX:
            break
        runs = await page(prefix.run_ids)
        if prefix.complete or len(runs) == limit:
            return runs
        # Grow the prefix to where the page should be, judging by the share that matched.
        matched = offset + len(runs)
        count = max(2 * count, math.ceil(1.5 * count * needed / max(matched, 1)))
    return await page(None)


# Kinds a run can be grouped by: one value per run. A metric's latest value would make a
# group of nearly every run; dataset inputs are many per run.
GROUPABLE_KINDS = ("param", "tag", "attribute")


@dataclass(frozen=True)
class RunGroupCount:
    value: str | None
    count: int


async def group_runs(
    session: AsyncSession,
    *,
    experiment_id: int,
    by: str,
    filter_text: str | None,
    lifecycle: str = "active",
    limit: int = 1000,
) -> list[RunGroupCount]:
    """How many runs matching `filter_text` share each value of `by` (a param, tag or
    attribute, written as in order_by), largest groups first; None holds the runs without it."""
    await experiments.get_experiment(session, experiment_id)
    target = parse_group_by(by)
    rows = await repository.count_runs_by_value(
        session,
        experiment_ids=[experiment_id],
        lifecycle_stages=LIFECYCLE_STAGES[lifecycle],
        comparisons=parse_filter(filter_text),
        by=target,
        limit=limit,
    )
    return [RunGroupCount(None if value is None else str(value), count) for value, count in rows]


def parse_group_by(by: str) -> Identifier:
    """The column of `by`, parsed as an order_by term without a direction."""
    term = parse_order_by(by)
    if term.target.kind not in GROUPABLE_KINDS:
        raise InvalidParameter(f"runs are grouped by a param, tag or attribute, not {by!r}")
    if not term.ascending or by.rstrip().upper().endswith(" ASC"):
        raise InvalidParameter(f"group by names a column without a direction, got {by!r}")
    return term.target


@dataclass(frozen=True)
class ExperimentSearchPage:
    experiments: Sequence[Experiment]
    next_offset: int | None


def _experiment_id_comparison(comparison: Comparison) -> Comparison:
    """MLflow's experiment ids are strings; ours are integers, so compare them as such."""
    if comparison.target.key != "experiment_id" or comparison.target.kind != "attribute":
        return comparison
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    try:
        numbers = tuple(int(str(value)) for value in values)
    except ValueError:
        raise InvalidParameter(f"experiment ids are integers, got {comparison.value!r}") from None
    value: float | tuple[str, ...] = (
        numbers if isinstance(comparison.value, tuple) else numbers[0]  # type: ignore[assignment]
    )
    return Comparison(comparison.target, comparison.operator, value)


async def search_experiments(
    session: AsyncSession,
    *,
    filter_text: str | None,
    order_by: Sequence[str],
    lifecycle: str = "active",
    offset: int = 0,
    limit: int = 1000,
    project_ids: Collection[int] | None = None,
) -> ExperimentSearchPage:
    """Experiments by MLflow's experiment filter; default order newest first, then by id.
    `project_ids` restricts them to those projects (None: all)."""
    comparisons = [_experiment_id_comparison(c) for c in parse_experiment_filter(filter_text)]
    order: list[OrderTerm] = [parse_experiment_order_by(term) for term in order_by]
    keys = [term.target.key for term in order]
    if len(set(keys)) != len(keys):
        raise InvalidParameter(f"order_by names a field more than once: {list(order_by)}")
    if not order:
        order = [parse_experiment_order_by("creation_time DESC")]
        order.append(parse_experiment_order_by("experiment_id ASC"))
    elif "experiment_id" not in keys:
        # MLflow's own tie-break when the caller did not sort by id.
        order.append(parse_experiment_order_by("experiment_id DESC"))
    experiments = await repository.select_experiments_matching(
        session,
        lifecycle_stages=LIFECYCLE_STAGES[lifecycle],
        comparisons=comparisons,
        order=order,
        offset=offset,
        limit=limit + 1,
        project_ids=project_ids,
    )
    has_more = len(experiments) > limit
    return ExperimentSearchPage(experiments[:limit], offset + limit if has_more else None)
