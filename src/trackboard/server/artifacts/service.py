"""A run's artifacts through the v1 API: where they are in the store, and their listing."""

import posixpath

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.artifacts.locations import run_artifact_folder, run_artifact_uri
from trackboard.server.artifacts.store import ArtifactEntry, ArtifactStore, check_relative_path
from trackboard.server.errors import InvalidParameter
from trackboard.server.experiments import service as experiments
from trackboard.server.runs import service as runs
from trackboard.server.unit_of_work import database

# A recursive listing stops here: the dashboard's tree and the media index read it whole.
MAX_LISTED_ENTRIES = 20_000


async def run_folder(session: AsyncSession, run_id: str, *, for_write: bool = False) -> str:
    """The store folder of the run's artifacts (`<experiment>/<run>/artifacts`). A write
    needs a run that is not deleted."""
    run = await (runs.get_active_run if for_write else runs.get_run)(session, run_id)
    experiment = await experiments.get_experiment(session, run.experiment_id)
    return run_artifact_folder(run_artifact_uri(run, experiment), run.experiment_id, run.id)


async def resolve_run_folder(request: Request, run_id: str, *, for_write: bool) -> str:
    """`run_folder` in a transaction of its own, closed before a body is streamed: an
    upload of gigabytes must not hold a database connection while it lasts. The check made
    for a write reads the primary, as every check made for a write does."""
    read_after = getattr(request.state, "read_after", None)
    transaction = database(request).transaction(
        write=False, replica=not for_write, read_after=read_after
    )
    async with transaction as session:
        return await run_folder(session, run_id, for_write=for_write)


def join(folder: str, relative: str) -> str:
    """A path under the run's folder; `relative` goes through the one artifact path parser."""
    relative = check_relative_path(relative)
    return posixpath.join(folder, relative) if relative else folder


def file_path(folder: str, relative: str) -> str:
    """Like `join`, for a file: the run's folder itself is not one."""
    if not check_relative_path(relative):
        raise InvalidParameter("an artifact needs a file path")
    return join(folder, relative)


async def walk(store: ArtifactStore, folder: str, relative: str = "") -> list[ArtifactEntry]:
    """Every entry under `relative` (folders too), with paths from the run's root, sorted;
    at most MAX_LISTED_ENTRIES (InvalidParameter beyond)."""
    found: list[ArtifactEntry] = []
    pending = [check_relative_path(relative)]
    while pending:
        current = pending.pop()
        for entry in await store.list(join(folder, current)):
            path = posixpath.join(current, entry.path) if current else entry.path
            found.append(ArtifactEntry(path, entry.is_dir, entry.file_size))
            if entry.is_dir:
                pending.append(path)
        if len(found) > MAX_LISTED_ENTRIES:
            raise InvalidParameter(
                f"more than {MAX_LISTED_ENTRIES} artifacts: list a folder at a time (path=)"
            )
    return sorted(found, key=lambda entry: entry.path)


async def list_entries(
    store: ArtifactStore, folder: str, relative: str, recursive: bool
) -> list[ArtifactEntry]:
    """The entries of a folder of the run's artifacts, paths from the run's root."""
    if recursive:
        return await walk(store, folder, relative)
    relative = check_relative_path(relative)
    return [
        ArtifactEntry(
            posixpath.join(relative, entry.path) if relative else entry.path,
            entry.is_dir,
            entry.file_size,
        )
        for entry in await store.list(join(folder, relative))
    ]
