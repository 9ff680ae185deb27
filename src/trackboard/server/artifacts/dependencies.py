"""The artifact store a request uses, as a FastAPI dependency for every artifact route."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Request

from trackboard.server.artifacts.opening import open_artifact_store
from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard
from trackboard.server.errors import Unavailable


async def artifact_store(request: Request) -> AsyncIterator[ArtifactStore]:
    """The store the settings name, behind this server's S3 breaker."""
    state = request.app.state
    async with open_artifact_store(state.settings, state.artifacts_guard) as store:
        yield store


def artifact_store_guard(breaker: BreakerSettings, connect_deadline_s: float) -> DependencyGuard:
    """The S3 store's breaker, one per server: transport errors and 5xx answers count; with
    it open, artifact requests answer 503 at once; then one request is let through to probe."""
    return DependencyGuard(
        breaker.breaker("artifacts"),
        deadline_s=connect_deadline_s,
        unavailable=Unavailable,
        is_failure=lambda error: isinstance(error, httpx.TransportError | Unavailable),
    )


Store = Annotated[ArtifactStore, Depends(artifact_store)]
