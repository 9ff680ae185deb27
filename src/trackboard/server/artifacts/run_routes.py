"""HTTP routes of a run's artifacts in the v1 API: listing, streamed upload and download
(with range requests), and the media index the dashboard's Media tab reads.

The gateway authorizes them by the run id in the path, like every run route; artifact
paths go through `check_relative_path`, the one parser of artifact paths. The upload's size
is bounded by `TRACKBOARD_MAX_ARTIFACT_BYTES` (the body limit middleware)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from trackboard.server.artifacts import service
from trackboard.server.artifacts.content_types import response_headers
from trackboard.server.artifacts.dependencies import Store
from trackboard.server.artifacts.media import media_index
from trackboard.server.artifacts.schemas import (
    ArtifactEntryRead,
    ArtifactListing,
    ArtifactWritten,
    MediaIndex,
)
from trackboard.server.artifacts.store import check_relative_path
from trackboard.server.identifiers import RunId

router = APIRouter(prefix="/api/v1/runs/{run_id}", tags=["artifacts"])

ArtifactPath = Annotated[str, Query(description="A folder, from the run's artifact root")]


@router.get("/artifacts")
async def list_artifacts(
    run_id: RunId,
    request: Request,
    store: Store,
    path: ArtifactPath = "",
    recursive: bool = False,
) -> ArtifactListing:
    """The entries of a folder of the run's artifacts (with `recursive`, everything under
    it), paths from the run's artifact root; empty for a missing folder."""
    folder = await service.resolve_run_folder(request, run_id, for_write=False)
    entries = await service.list_entries(store, folder, path, recursive)
    return ArtifactListing(
        path=check_relative_path(path),
        entries=[
            ArtifactEntryRead(path=e.path, is_dir=e.is_dir, size=e.file_size) for e in entries
        ],
    )


@router.get(
    "/artifacts/{artifact_path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {}, 416: {}},
)
async def download_artifact(
    run_id: RunId, artifact_path: str, request: Request, store: Store
) -> Response:
    """The file, with its content type; a `Range` header gets a 206 with that part."""
    folder = await service.resolve_run_folder(request, run_id, for_write=False)
    response = await store.download(
        service.file_path(folder, artifact_path), request.headers.get("range")
    )
    response.headers.update(response_headers(artifact_path))
    return response


@router.put("/artifacts/{artifact_path:path}")
async def upload_artifact(
    run_id: RunId, artifact_path: str, request: Request, store: Store
) -> ArtifactWritten:
    """Stores the raw body as the file, streamed and atomic: a repeated upload of the same
    path replaces the file, so a retried upload is still one artifact."""
    folder = await service.resolve_run_folder(request, run_id, for_write=True)
    target = service.file_path(folder, artifact_path)
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    await store.write(target, request.stream(), length)
    return ArtifactWritten(path=check_relative_path(artifact_path))


@router.get("/media")
async def get_media(run_id: RunId, request: Request, store: Store) -> MediaIndex:
    """The run's image series (steps and captions), histograms over steps, tables and
    texts, as logged by the client's `log_image`, `log_histogram`, `log_table`, `log_text`."""
    folder = await service.resolve_run_folder(request, run_id, for_write=False)
    return await media_index(store, folder)
