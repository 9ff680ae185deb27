"""Search runs by MLflow's filter language, one page at a time."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import Run
from trackboard.server.search import repository
from trackboard.server.search.filter_parser import parse_filter, parse_order_by

LIFECYCLE_STAGES = {"active": ("active",), "deleted": ("deleted",), "all": ("active", "deleted")}


@dataclass(frozen=True)
class RunSearchPage:
    runs: Sequence[Run]
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
    order = [parse_order_by(term) for term in order_by]
    runs = await repository.select_runs(
        session,
        experiment_ids=experiment_ids,
        lifecycle_stages=LIFECYCLE_STAGES[lifecycle],
        comparisons=comparisons,
        order=order,
        offset=offset,
        limit=limit + 1,
    )
    has_more = len(runs) > limit
    return RunSearchPage(runs[:limit], offset + limit if has_more else None)
