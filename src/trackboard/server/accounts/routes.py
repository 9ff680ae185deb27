"""HTTP routes of /api/v1/projects: projects, their members and API keys (owners manage)."""

from typing import Any

from fastapi import APIRouter, Response, status

from trackboard.server.accounts import service
from trackboard.server.accounts.roles import Role
from trackboard.server.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRead,
    MemberList,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectList,
    ProjectRead,
)
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.gateway.dependencies import CurrentPrincipal
from trackboard.server.json_types import IdPath
from trackboard.server.models import ApiKey
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])

# Membership changes and revocations record events in the service; the credential cache
# forgets what they made stale once they commit (accounts/credential_events.py).


def key_read(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": api_key.id,
        "prefix": api_key.prefix,
        "project_id": api_key.project_id,
        "role": api_key.role,
        "name": api_key.name,
        "created_at": api_key.created_at,
        "last_used_at": api_key.last_used_at,
        "revoked_at": api_key.revoked_at,
    }


@router.get("")
async def list_projects(session: ReadSession, principal: CurrentPrincipal) -> ProjectList:
    projects = await service.list_projects(session, principal.visible_projects())
    return ProjectList(
        projects=[
            ProjectRead(
                id=p.id,
                name=p.name,
                created_at=p.created_at,
                role=role.label if (role := principal.role_in(p.id)) else None,
            )
            for p in projects
        ]
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_project(
    body: ProjectCreate, session: WriteSession, principal: CurrentPrincipal
) -> ProjectRead:
    """A logged-in user creates a project and becomes its owner."""
    if principal.user_id is None and not principal.unrestricted:
        raise InvalidParameter("only a user (not a project key) can create projects")
    project = await service.create_project(session, body.name, principal.user_id)
    return ProjectRead(
        id=project.id, name=project.name, created_at=project.created_at, role="owner"
    )


@router.get("/{project_id}")
async def get_project(
    project_id: IdPath, session: ReadSession, principal: CurrentPrincipal
) -> ProjectRead:
    project = await service.get_project(session, project_id)
    role = principal.role_in(project.id)
    return ProjectRead(
        id=project.id,
        name=project.name,
        created_at=project.created_at,
        role=role.label if role else None,
    )


@router.get("/{project_id}/members")
async def list_members(project_id: IdPath, session: ReadSession) -> MemberList:
    await service.get_project(session, project_id)
    members = await service.list_members(session, project_id)
    return MemberList(
        members=[MemberRead(username=name, role=role.label) for name, role in members]
    )


@router.put("/{project_id}/members/{username}")
async def set_member(
    project_id: IdPath, username: str, body: MemberUpdate, session: WriteSession
) -> MemberRead:
    await service.set_member(session, project_id, username, Role.parse(body.role))
    return MemberRead(username=username, role=body.role)


@router.delete("/{project_id}/members/{username}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(project_id: IdPath, username: str, session: WriteSession) -> Response:
    await service.remove_member(session, project_id, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/keys")
async def list_keys(project_id: IdPath, session: ReadSession) -> ApiKeyList:
    keys = await service.list_api_keys(session, project_id)
    return ApiKeyList(keys=[ApiKeyRead(**key_read(k)) for k in keys])


@router.post("/{project_id}/keys", status_code=status.HTTP_201_CREATED)
async def create_key(
    project_id: IdPath, body: ApiKeyCreate, session: WriteSession, principal: CurrentPrincipal
) -> ApiKeyCreated:
    """A new key, shown in this response only: it is stored as a hash."""
    api_key, key = await service.create_api_key(
        session, project_id, Role.parse(body.role), name=body.name, user_id=principal.user_id
    )
    return ApiKeyCreated(**key_read(api_key), key=key)


@router.delete("/{project_id}/keys/{key_id}")
async def revoke_key(project_id: IdPath, key_id: IdPath, session: WriteSession) -> ApiKeyRead:
    api_key = await service.find_api_key(session, str(key_id))
    if api_key.project_id != project_id:
        raise NotFound("no such API key")
    await service.revoke_api_key(session, api_key)
    return ApiKeyRead(**key_read(api_key))
