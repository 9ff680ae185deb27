"""Copy artifact files into a folder behind Trackboard's artifact proxy, skipping those
already there with the same size."""

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from trackboard.importer.records import SourceArtifact
from trackboard.importer.target import TrackboardTarget


@dataclass
class FilesCopied:
    sent: int = 0
    bytes_sent: int = 0
    already_there: int = 0

    def add(self, other: "FilesCopied") -> None:
        self.sent += other.sent
        self.bytes_sent += other.bytes_sent
        self.already_there += other.already_there


def copy_files(
    files: Iterable[SourceArtifact],
    download: Callable[[str, Path], Path],
    target: TrackboardTarget,
    root: str,
) -> FilesCopied:
    """Each file `root` lacks (or holds with another size): `download(path, folder)` puts
    it in a temporary folder, then it is uploaded, so a large file is never held in memory."""
    copied = FilesCopied()
    there = target.artifact_sizes(root)
    for artifact in files:
        if artifact.path in there and artifact.size in (None, there[artifact.path]):
            copied.already_there += 1
            continue
        with tempfile.TemporaryDirectory(prefix="trackboard-import-") as folder:
            local = download(artifact.path, Path(folder))
            target.upload_artifact(root, artifact.path, local)
            copied.bytes_sent += local.stat().st_size
        copied.sent += 1
    return copied
