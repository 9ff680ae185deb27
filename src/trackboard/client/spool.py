"""The append-only spool: one JSON-lines file per run under `TRACKBOARD_HOME/spool/`, each
append fsynced, plus a small state file with how far the server has acknowledged it.

The process writing a spool holds an exclusive `flock` on it, so `trackboard sync` leaves
a spool alone while its run is still alive."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from trackboard.client import codec
from trackboard.client.records import Record

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; spools are then not locked.
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("trackboard")

SPOOL_SUFFIX = ".jsonl"
STATE_SUFFIX = ".state.json"


class SpoolBusyError(Exception):
    """Another process (the run itself, or another sync) holds the spool."""


def spool_path(spool_dir: Path, run_id: str) -> Path:
    return spool_dir / f"{run_id}{SPOOL_SUFFIX}"


def state_path(path: Path) -> Path:
    return path.with_name(path.name[: -len(SPOOL_SUFFIX)] + STATE_SUFFIX)


def find_spools(path: Path) -> list[Path]:
    """The spool files at `path` (a spool file or a folder of them), oldest first."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(path.glob(f"*{SPOOL_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))


def _try_lock(handle: IO[Any]) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_record(record: Record) -> bytes:
    return codec.dumps(record) + b"\n"


class SpoolState:
    """How many bytes of a spool the server has acknowledged, and the run's id there."""

    def __init__(self, path: Path) -> None:
        self.path = state_path(path)
        self.offset = 0
        self.run_id: str | None = None
        try:
            data = json.loads(self.path.read_text())
            self.offset = int(data.get("offset", 0))
            self.run_id = data.get("run_id")
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError):
            # A torn state file only means records are sent again, which the server dedups.
            logger.warning("trackboard: ignoring unreadable spool state %s", self.path)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"offset": self.offset, "run_id": self.run_id}))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class SpoolWriter:
    """Appends records to one run's spool and keeps it locked until closed."""

    def __init__(self, path: Path, header: Record | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        is_new = not path.exists()
        self._file = open(path, "ab")  # noqa: SIM115 - held open for the run's lifetime
        if not _try_lock(self._file):
            self._file.close()
            raise SpoolBusyError(f"{path} is in use by another process")
        if is_new:
            state = SpoolState(path)
            state.offset, state.run_id = 0, None
            state.save()
            _fsync_dir(path.parent)
            if header is not None:
                self.append([header])

    def append(self, records: Iterable[Record]) -> None:
        data = b"".join(encode_record(record) for record in records)
        if not data:
            return
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()  # also releases the lock


class SpoolReader:
    """Reads a spool from its acknowledged offset, one record at a time."""

    def __init__(self, path: Path, lock: bool = False) -> None:
        self.path = path
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        if lock and not _try_lock(self._file):
            self._file.close()
            raise SpoolBusyError(f"{path} is in use by another process")
        self.state = SpoolState(path)
        self._position = self.state.offset

    @property
    def run_id(self) -> str | None:
        return self.state.run_id

    def total_bytes(self) -> int:
        return os.fstat(self._file.fileno()).st_size

    def peek(self) -> tuple[Record, int] | None:
        """The next unacknowledged record and the offset just past it; None at the end.

        A last line without its newline is a write cut short by a crash: it is never
        acknowledged, so it is not there."""
        while True:
            self._file.seek(self._position)
            line = self._file.readline()
            if not line.endswith(b"\n"):
                return None
            end = self._position + len(line)
            try:
                record = codec.loads(line)
            except ValueError:
                logger.warning("trackboard: skipping a corrupt line in %s", self.path)
                self.ack(end)
                continue
            if not isinstance(record, dict):
                self.ack(end)
                continue
            return record, end

    def ack(self, end: int, run_id: str | None = None) -> None:
        self._position = end
        self.state.offset = end
        if run_id is not None:
            self.state.run_id = run_id
        self.state.save()

    def at_end(self) -> bool:
        return self.peek() is None

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def remove(self) -> None:
        """Deletes the spool and its state: everything in it reached the server."""
        self.path.unlink(missing_ok=True)
        self.state.remove()
        self.close()
