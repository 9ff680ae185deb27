"""Artifact files under one root folder, with every path checked before it touches the disk.

Paths come from URLs (`<experiment>/<run>/artifacts/<file>`): absolute paths, `..` parts,
backslashes, `#`, NUL bytes and symlinks leading out of the root are refused, so a caller
can never read or write outside the root.
"""

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import unquote

import anyio
from fastapi import Response
from fastapi.responses import FileResponse

from trackboard.server.errors import InvalidParameter, NotFound

# MLflow's whole message for any unsafe artifact path.
INVALID_PATH = "Invalid path"


@dataclass(frozen=True)
class ArtifactEntry:
    path: str  # relative to the listed folder
    is_dir: bool
    file_size: int | None


class ArtifactStore(Protocol):
    """Where artifacts live: `LocalArtifactStore` (a folder) or `S3ArtifactStore` (a bucket)."""

    async def write(
        self, path: str, chunks: AsyncIterator[bytes], length: int | None = None
    ) -> None:
        """Store `chunks` as the file `path`; `length` is the upload's declared size."""

    async def download(self, path: str, range_header: str | None = None) -> Response:
        """The file as a streamed response; `range_header` (the request's `Range`) asks for
        part of it: a 206 with that part, or a 416 when it lies past the end."""

    async def read_bytes(self, path: str, limit: int) -> bytes:
        """A small file whole (media index entries); InvalidParameter past `limit` bytes."""

    async def list(self, path: str) -> list[ArtifactEntry]: ...

    async def delete(self, path: str) -> None: ...


def _fully_decoded(path: str) -> str:
    """`path` percent-decoded until it stops changing, as MLflow decodes before checking."""
    for _ in range(10):
        decoded = unquote(path)
        if decoded == path:
            return path
        path = decoded
    raise InvalidParameter(INVALID_PATH)


def check_relative_path(path: str) -> str:
    """`path` as a clean relative POSIX path ("" for the root), or InvalidParameter.

    The one parser of artifact paths (the proxy's and `artifacts/list`'s), refusing what
    MLflow's `validate_path_is_safe` refuses, with its message: a `..` part, an absolute or
    drive path, a backslash or `#`, in the path as given or percent-decoded; and NUL bytes.
    The path is kept as given, not decoded: a file name may contain `%`.
    """
    for form in (path, _fully_decoded(path)):
        absolute = form.startswith("/") or (len(form) > 1 and form[1] == ":")
        if absolute or any(c in form for c in "\x00\\#") or ".." in form.split("/"):
            raise InvalidParameter(INVALID_PATH)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return str(PurePosixPath(*parts)) if parts else ""


class LocalArtifactStore:
    """Artifacts as plain files under `root` (embedded mode: `TRACKBOARD_HOME/artifacts`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def resolve(self, path: str) -> Path:
        relative = check_relative_path(path)
        root = self.root.resolve()
        target = (root / relative).resolve() if relative else root
        # A symlink inside the root must not lead out of it.
        if target != root and root not in target.parents:
            raise InvalidParameter(INVALID_PATH)
        return target

    async def write(
        self, path: str, chunks: AsyncIterator[bytes], length: int | None = None
    ) -> None:
        """Store a file atomically: readers see the old file or the whole new one. Streamed
        to a temporary file beside it, so `length` is not needed."""
        target = self.resolve(path)
        if not check_relative_path(path):
            raise InvalidParameter("an artifact needs a file path")
        if target.is_dir():
            raise InvalidParameter(f"{path!r} is a folder")
        await anyio.to_thread.run_sync(lambda: target.parent.mkdir(parents=True, exist_ok=True))
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            async with await anyio.open_file(partial, "wb") as file:
                async for chunk in chunks:
                    await file.write(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, target)
        finally:
            await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))

    async def download(self, path: str, range_header: str | None = None) -> Response:
        """Starlette's FileResponse reads the request's `Range` itself."""
        target = self.resolve(path)
        if not target.is_file():
            raise NotFound(f"Artifact '{path}' does not exist")
        return FileResponse(target)

    async def read_bytes(self, path: str, limit: int) -> bytes:
        target = self.resolve(path)
        if not target.is_file():
            raise NotFound(f"Artifact '{path}' does not exist")
        if target.stat().st_size > limit:
            raise InvalidParameter(f"{path!r} is larger than {limit} bytes")
        return await anyio.Path(target).read_bytes()

    async def list(self, path: str) -> list[ArtifactEntry]:
        """The folder's direct entries; empty for a file or a missing path (as MLflow)."""
        folder = self.resolve(path)
        if not folder.is_dir():
            return []
        entries = []
        for child in sorted(folder.iterdir()):
            if child.name.startswith(".") and child.name.endswith(".part"):
                continue
            if child.is_dir():
                entries.append(ArtifactEntry(child.name, True, None))
            elif child.is_file():
                entries.append(ArtifactEntry(child.name, False, child.stat().st_size))
        return entries

    async def delete(self, path: str) -> None:
        target = self.resolve(path)
        if target == self.root.resolve():
            raise InvalidParameter("refusing to delete the artifact root")
        if target.is_dir():
            await anyio.to_thread.run_sync(shutil.rmtree, target)
        elif target.exists():
            target.unlink()
        else:
            raise NotFound(f"Artifact '{path}' does not exist")
