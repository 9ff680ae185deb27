"""SQL for run dataset inputs."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import RunDatasetInput


async def select_inputs(session: AsyncSession, run_ids: Sequence[str]) -> list[RunDatasetInput]:
    query = select(RunDatasetInput).where(RunDatasetInput.run_id.in_(run_ids))
    return list(await session.scalars(query.order_by(RunDatasetInput.position)))


async def select_identities(session: AsyncSession, run_id: str) -> set[tuple[str, str]]:
    query = select(RunDatasetInput.name, RunDatasetInput.digest).where(
        RunDatasetInput.run_id == run_id
    )
    return {(row.name, row.digest) for row in await session.execute(query)}


async def next_position(session: AsyncSession, run_id: str) -> int:
    last = await session.scalar(
        select(func.max(RunDatasetInput.position)).where(RunDatasetInput.run_id == run_id)
    )
    return 0 if last is None else last + 1


def insert_inputs(session: AsyncSession, rows: Sequence[RunDatasetInput]) -> None:
    session.add_all(rows)
