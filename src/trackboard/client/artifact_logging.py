"""What `Run.log_artifact`, `log_artifacts`, `log_table`, `log_text`, `log_image` and
`log_histogram` do in the caller's thread: check the name, stage the bytes on disk, and
queue an upload record behind the run's other records. Nothing here touches the network:
the run's sender uploads in the background (spooled when offline, retried, and a retry
replaces the same file, so nothing is doubled). Where media go: `trackboard.media_layout`."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from trackboard.client.artifact_staging import stage_bytes, stage_file
from trackboard.client.images import encode_image
from trackboard.client.media_values import DEFAULT_BINS, histogram, table, table_files
from trackboard.client.records import Record, artifact_record, check_key
from trackboard.media_layout import (
    histogram_path,
    image_path,
    image_sidecar_path,
    table_paths,
    text_path,
)


def artifact_path(name: str) -> str:
    """`name` as a clean relative path in the run's artifacts, or ValueError: the checks the
    server makes, so a bad name fails here rather than in the background."""
    if not isinstance(name, str) or not name.strip("/"):
        raise ValueError(f"an artifact needs a file name, got {name!r}")
    if name.startswith("/") or any(c in name for c in "\\#\x00") or (name[1:2] == ":"):
        raise ValueError(f"artifact paths are relative, without \\ # or a drive: {name!r}")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"artifact paths may not contain '..': {name!r}")
    return str(PurePosixPath(*parts))


class ArtifactLogger:
    """One run's artifacts and media, queued through `append` (the run's record buffer)."""

    def __init__(self, append: Callable[[Record], None], staging: Path) -> None:
        self._append = append
        self._staging = staging
        self._lock = threading.Lock()
        self._next_steps: dict[tuple[str, str], int] = {}

    def _queue(self, path: str, staged: Path) -> None:
        self._append(artifact_record(path, str(staged)))

    def _queue_bytes(self, path: str, data: bytes) -> None:
        self._queue(path, stage_bytes(self._staging, data))

    def _step(self, kind: str, key: str, step: int | None) -> int:
        """The step given, or the one after this key's last (0 at first)."""
        with self._lock:
            if step is None:
                step = self._next_steps.get((kind, key), 0)
            elif isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise ValueError(f"steps are integers from 0, got {step!r}")
            self._next_steps[(kind, key)] = max(step + 1, self._next_steps.get((kind, key), 0))
            return step

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        source = Path(path)
        if not source.is_file():
            hint = " (use log_artifacts for a folder)" if source.is_dir() else ""
            raise FileNotFoundError(f"no file at {source}{hint}")
        target = artifact_path(name if name is not None else source.name)
        self._queue(target, stage_file(self._staging, source))
        return target

    def log_artifacts(self, folder: str | os.PathLike[str], path: str | None = None) -> list[str]:
        root = Path(folder)
        if not root.is_dir():
            raise NotADirectoryError(f"no folder at {root}")
        prefix = artifact_path(path) if path else ""
        logged = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = file.relative_to(root).as_posix()
            logged.append(self.log_artifact(file, f"{prefix}/{relative}" if prefix else relative))
        return logged

    def log_table(self, key: str, data: Any, columns: Sequence[str] | None = None) -> str:
        names, rows = table(data, columns)
        as_json, as_csv = table_files(names, rows)
        json_path, csv_path = table_paths(check_key(key))
        self._queue_bytes(json_path, as_json)
        self._queue_bytes(csv_path, as_csv)
        return json_path

    def log_text(self, key: str, text: str) -> str:
        path = text_path(check_key(key))
        self._queue_bytes(path, str(text).encode())
        return path

    def log_image(
        self, key: str, image: Any, step: int | None = None, caption: str | None = None
    ) -> int:
        check_key(key)
        encoded = encode_image(image)
        step = self._step("image", key, step)
        file = image_path(key, step, encoded.extension)
        sidecar = {
            "key": key,
            "step": step,
            "file": PurePosixPath(file).name,
            "caption": None if caption is None else str(caption),
            "width": encoded.width,
            "height": encoded.height,
        }
        # The image first: the media index shows a frame once its description is there.
        self._queue_bytes(file, encoded.data)
        self._queue_bytes(image_sidecar_path(key, step), json.dumps(sidecar).encode())
        return step

    def log_histogram(
        self, key: str, values_or_counts: Any, step: int | None = None, bins: int = DEFAULT_BINS
    ) -> int:
        check_key(key)
        counted = histogram(values_or_counts, bins)
        step = self._step("histogram", key, step)
        body = {"key": key, "step": step, **counted}
        self._queue_bytes(histogram_path(key, step), json.dumps(body).encode())
        return step
