"""The artifact store a request uses, as a FastAPI dependency for every artifact route."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Request

from trackboard.server.artifacts.s3_store import S3ArtifactStore
from trackboard.server.artifacts.store import ArtifactStore, LocalArtifactStore


async def artifact_store(request: Request) -> AsyncIterator[ArtifactStore]:
    """A bucket when `artifacts_url` names one (s3://…), else a folder under the data dir."""
    settings = request.app.state.settings
    url = settings.artifacts_url
    if not url:
        yield LocalArtifactStore(settings.home / "artifacts")
        return
    async with httpx.AsyncClient(timeout=300) as http:
        yield S3ArtifactStore.from_url(url, http)


Store = Annotated[ArtifactStore, Depends(artifact_store)]
