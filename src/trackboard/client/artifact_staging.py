"""Files waiting to be uploaded as a run's artifacts: copied, when logged, into the run's
staging folder beside its spool (`TRACKBOARD_HOME/spool/<run>.files/`), so the training can
overwrite or delete its own file at once; each copy is deleted once the server stored it.

A staged file that is gone was therefore uploaded already: a record sent again (from the
spool, after its answer was lost) finds nothing to send and counts as delivered."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from trackboard.client.transport import RequestRejectedError, Transport

logger = logging.getLogger("trackboard")

STAGING_SUFFIX = ".files"


def staging_dir(spool_dir: Path, run_id: str) -> Path:
    return spool_dir / f"{run_id}{STAGING_SUFFIX}"


def _new_name(folder: Path, suffix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}{suffix}"


def stage_file(folder: Path, source: Path) -> Path:
    """A private copy of `source` in `folder` (a copy, not a link: a training loop that
    rewrites its checkpoint in place must not change what is uploaded)."""
    target = _new_name(folder, "")
    shutil.copyfile(source, target)
    return target


def stage_bytes(folder: Path, data: bytes) -> Path:
    target = _new_name(folder, "")
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


def upload_staged_file(
    transport: Transport, run_path: str, record: dict[str, Any], timeout: float | None
) -> None:
    """PUTs the record's staged file to the run's artifacts, then deletes the copy."""
    staged = Path(str(record["file"]))
    if not staged.is_file():
        logger.debug("trackboard: %s was uploaded already", record["path"])
        return
    try:
        transport.upload(
            f"{run_path}/artifacts/{quote(str(record['path']), safe='/')}", staged, timeout
        )
    except RequestRejectedError as exc:
        # Refused for good (too large, a bad path): the sender reports it and moves on. A
        # refused key keeps the copy, for `trackboard sync` once the key is right.
        if not exc.is_auth_failure:
            staged.unlink(missing_ok=True)
        raise
    staged.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: other uploads still wait
        staged.parent.rmdir()  # the last one out removes the run's staging folder
