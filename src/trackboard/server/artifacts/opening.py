"""Which artifact store the settings name, opened for as long as it is used: one choice for
the API's artifact routes and the retention job."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from trackboard.server.artifacts.s3_store import S3ArtifactStore
from trackboard.server.artifacts.store import ArtifactStore, LocalArtifactStore
from trackboard.server.backends.dependency_guard import DependencyGuard
from trackboard.server.config import Settings


@asynccontextmanager
async def open_artifact_store(
    settings: Settings, guard: DependencyGuard | None = None
) -> AsyncIterator[ArtifactStore]:
    """A bucket when `artifacts_url` names one (s3://…), behind `guard` (the S3 breaker)
    when given; else the folder under the data dir."""
    url = settings.artifacts_url
    if not url:
        yield LocalArtifactStore(settings.home / "artifacts")
        return
    # Transfers may be long; connecting may not (the deadline the breaker counts).
    timeout = httpx.Timeout(300, connect=settings.artifacts_connect_deadline_s)
    async with httpx.AsyncClient(timeout=timeout) as http:
        yield S3ArtifactStore.from_url(url, http, guard)
