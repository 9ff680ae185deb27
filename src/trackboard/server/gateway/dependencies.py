"""What routes may ask of the gateway: the caller, the projects it sees, the read cache."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from trackboard.server.backends.cache_aside import ReadThroughCache
from trackboard.server.gateway.principal import OPEN_PRINCIPAL, Principal
from trackboard.server.gateway.wiring import Gateway

# Dependencies are `async def` on purpose: FastAPI runs plain `def` ones in a thread pool,
# which costs far more than these lookups.


def gateway_of(connection: HTTPConnection) -> Gateway:
    found: Gateway = connection.app.state.gateway
    return found


def principal_of(connection: HTTPConnection) -> Principal:
    principal = connection.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else OPEN_PRINCIPAL


async def gateway(connection: HTTPConnection) -> Gateway:
    return gateway_of(connection)


async def current_principal(connection: HTTPConnection) -> Principal:
    return principal_of(connection)


async def visible_projects(connection: HTTPConnection) -> frozenset[int] | None:
    """Filter for lists and searches: the caller's projects, or None for "all"."""
    return principal_of(connection).visible_projects()


async def target_project(connection: HTTPConnection) -> int | None:
    """The project a create goes to, as authorization decided it (None with auth off)."""
    project = connection.scope.get("state", {}).get("project_id")
    return project if isinstance(project, int) else None


async def read_cache(connection: HTTPConnection) -> ReadThroughCache:
    return gateway_of(connection).reads


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
VisibleProjects = Annotated[frozenset[int] | None, Depends(visible_projects)]
TargetProject = Annotated[int | None, Depends(target_project)]
ReadCache = Annotated[ReadThroughCache, Depends(read_cache)]
GatewayParts = Annotated[Gateway, Depends(gateway)]
