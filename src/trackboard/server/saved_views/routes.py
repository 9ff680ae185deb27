"""HTTP routes of /api/v1/experiments/{id}/views (access: `gateway.access_policy`)."""

from fastapi import APIRouter, Response, status

from trackboard.server.gateway.dependencies import CurrentPrincipal
from trackboard.server.json_types import ExperimentIdPath, IdPath
from trackboard.server.saved_views import service
from trackboard.server.saved_views.schemas import (
    SavedViewCreate,
    SavedViewList,
    SavedViewRead,
    SavedViewUpdate,
)
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/experiments/{experiment_id}/views", tags=["saved views"])


@router.get("")
async def list_views(experiment_id: ExperimentIdPath, session: ReadSession) -> SavedViewList:
    views = await service.list_views(session, experiment_id)
    return SavedViewList(views=[service.to_read(view) for view in views])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_view(
    experiment_id: ExperimentIdPath,
    body: SavedViewCreate,
    session: WriteSession,
    principal: CurrentPrincipal,
) -> SavedViewRead:
    view = await service.create_view(
        session, experiment_id, body.name, body.state, by=principal.name
    )
    return service.to_read(view)


@router.get("/{view_id}")
async def get_view(
    experiment_id: ExperimentIdPath, view_id: IdPath, session: ReadSession
) -> SavedViewRead:
    return service.to_read(await service.get_view(session, experiment_id, view_id))


@router.patch("/{view_id}")
async def update_view(
    experiment_id: ExperimentIdPath,
    view_id: IdPath,
    body: SavedViewUpdate,
    session: WriteSession,
    principal: CurrentPrincipal,
) -> SavedViewRead:
    view = await service.update_view(
        session, experiment_id, view_id, name=body.name, state=body.state, by=principal.name
    )
    return service.to_read(view)


@router.delete("/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_view(
    experiment_id: ExperimentIdPath, view_id: IdPath, session: WriteSession
) -> Response:
    await service.delete_view(session, experiment_id, view_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
