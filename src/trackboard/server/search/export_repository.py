"""The param, tag and metric keys a chunk of runs has: the columns of an export."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import one_of
from trackboard.server.search.repository import PARAMS, SUMMARIES, TAGS


async def select_keys(session: AsyncSession, run_ids: Sequence[str]) -> dict[str, set[str]]:
    """Distinct keys of the runs' params, tags and metrics, by prefix (`params`, ...)."""
    keys: dict[str, set[str]] = {}
    for prefix, table in (("params", PARAMS), ("tags", TAGS), ("metrics", SUMMARIES)):
        query = select(table.c.key).where(one_of(session, table.c.run_id, run_ids)).distinct()
        keys[prefix] = set((await session.scalars(query)).all())
    return keys
