"""SQL for saved views."""

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import SavedView


async def select_view(session: AsyncSession, experiment_id: int, view_id: int) -> SavedView | None:
    """The view, only if it belongs to the experiment the caller was authorized for."""
    query = select(SavedView).where(
        SavedView.id == view_id, SavedView.experiment_id == experiment_id
    )
    return (await session.scalars(query)).one_or_none()


async def select_views(session: AsyncSession, experiment_id: int) -> Sequence[SavedView]:
    query = select(SavedView).where(SavedView.experiment_id == experiment_id)
    return (await session.scalars(query.order_by(SavedView.name, SavedView.id))).all()


async def select_view_by_name(
    session: AsyncSession, experiment_id: int, name: str
) -> SavedView | None:
    query = select(SavedView).where(
        SavedView.experiment_id == experiment_id, SavedView.name == name
    )
    return (await session.scalars(query)).one_or_none()


async def delete_view(session: AsyncSession, view_id: int) -> None:
    await session.execute(delete(SavedView).where(SavedView.id == view_id))
