"""Saved views: list, create, read, rename or replace the state, delete.

The gateway checked the caller's role in the experiment's project (viewers read, editors
write); this module keeps each view inside the experiment named in the path, so a view id
of another experiment is "not found". No domain event or cache scope covers views: they
are read straight from the database and nothing subscribes to their changes.
"""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.clock import now_ms
from trackboard.server.errors import AlreadyExists, NotFound
from trackboard.server.experiments import service as experiments
from trackboard.server.models import SavedView
from trackboard.server.saved_views import repository
from trackboard.server.saved_views.schemas import SavedViewRead, ViewState


def to_read(view: SavedView) -> SavedViewRead:
    return SavedViewRead(
        id=view.id,
        experiment_id=view.experiment_id,
        name=view.name,
        state=ViewState.model_validate_json(view.state),
        created_by=view.created_by,
        created_at=view.created_at,
        updated_by=view.updated_by,
        updated_at=view.updated_at,
    )


def name_taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"a view named {name!r} already exists in this experiment")


async def list_views(session: AsyncSession, experiment_id: int) -> Sequence[SavedView]:
    await experiments.get_experiment(session, experiment_id)
    return await repository.select_views(session, experiment_id)


async def get_view(session: AsyncSession, experiment_id: int, view_id: int) -> SavedView:
    view = await repository.select_view(session, experiment_id, view_id)
    if view is None:
        raise NotFound(f"no saved view {view_id} in experiment {experiment_id}")
    return view


async def _flush_name(session: AsyncSession, view: SavedView) -> None:
    """Writes the view; a name taken meanwhile (a lost race) is a 409, not a 500."""
    try:
        # A savepoint, so that losing the race leaves the transaction usable.
        async with session.begin_nested():
            session.add(view)
    except IntegrityError as exc:
        raise name_taken(view.name) from exc


async def create_view(
    session: AsyncSession, experiment_id: int, name: str, state: ViewState, *, by: str
) -> SavedView:
    await experiments.get_experiment(session, experiment_id)
    if await repository.select_view_by_name(session, experiment_id, name) is not None:
        raise name_taken(name)
    now = now_ms()
    view = SavedView(
        experiment_id=experiment_id,
        name=name,
        state=state.model_dump_json(),
        created_by=by,
        created_at=now,
        updated_by=by,
        updated_at=now,
    )
    await _flush_name(session, view)
    return view


async def update_view(
    session: AsyncSession,
    experiment_id: int,
    view_id: int,
    *,
    name: str | None,
    state: ViewState | None,
    by: str,
) -> SavedView:
    view = await get_view(session, experiment_id, view_id)
    if name is not None and name != view.name:
        if await repository.select_view_by_name(session, experiment_id, name) is not None:
            raise name_taken(name)
        view.name = name
    if state is not None:
        view.state = state.model_dump_json()
    view.updated_by = by
    view.updated_at = now_ms()
    await _flush_name(session, view)
    return view


async def delete_view(session: AsyncSession, experiment_id: int, view_id: int) -> None:
    await get_view(session, experiment_id, view_id)
    await repository.delete_view(session, view_id)
