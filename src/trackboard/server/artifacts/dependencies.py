"""The artifact store a request uses, as a FastAPI dependency for every artifact route."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Request

from trackboard.server.artifacts.s3_store import S3ArtifactStore
from trackboard.server.artifacts.store import ArtifactStore, LocalArtifactStore
from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard
from trackboard.server.errors import Unavailable


async def artifact_store(request: Request) -> AsyncIterator[ArtifactStore]:
    """A bucket when `artifacts_url` names one (s3://…), else a folder under the data dir."""
    settings = request.app.state.settings
    url = settings.artifacts_url
    if not url:
        yield LocalArtifactStore(settings.home / "artifacts")
        return
    # Transfers may be long; connecting may not (the deadline the breaker counts).
    timeout = httpx.Timeout(300, connect=settings.artifacts_connect_deadline_s)
    async with httpx.AsyncClient(timeout=timeout) as http:
        yield S3ArtifactStore.from_url(url, http, request.app.state.artifacts_guard)


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
