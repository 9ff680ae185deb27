"""The media index of a run: its image series, histograms, tables and texts, read from the
files the client's `log_image`, `log_histogram`, `log_table` and `log_text` upload
(`trackboard.media_layout`)."""

import asyncio
import posixpath

import orjson
from pydantic import BaseModel, ValidationError

from trackboard.media_layout import HISTOGRAMS, IMAGES, MEDIA, TABLES, TEXTS
from trackboard.server.artifacts.schemas import (
    HistogramSeries,
    HistogramStep,
    ImageFrame,
    ImageSeries,
    MediaIndex,
    TableRef,
    TextRef,
)
from trackboard.server.artifacts.service import walk
from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.errors import NotFound

# An image's description or one step's histogram: small JSON files.
MAX_ENTRY_BYTES = 1024 * 1024


class _ImageSidecar(BaseModel):
    key: str
    step: int
    file: str
    caption: str | None = None
    width: int | None = None
    height: int | None = None


class _Histogram(BaseModel):
    key: str
    step: int
    bins: list[float]
    counts: list[float]


def _key_of(path: str, folder: str, extension: str) -> str | None:
    """`media/tables/a/b.json` → `a/b` for `folder` media/tables and `.json`."""
    if not path.startswith(folder + "/") or not path.endswith(extension):
        return None
    return path[len(folder) + 1 : -len(extension)] or None


async def _read_json(store: ArtifactStore, path: str) -> object:
    """A media entry's JSON; None for one that cannot be read (a run may upload anything
    under media/ with log_artifact, and one bad file must not hide the others)."""
    try:
        return orjson.loads(await store.read_bytes(path, MAX_ENTRY_BYTES))
    except (NotFound, orjson.JSONDecodeError, ValueError):
        return None


async def media_index(store: ArtifactStore, folder: str) -> MediaIndex:
    """Everything under the run's `media/` folder, each series in step order."""
    files = {entry.path for entry in await walk(store, folder, MEDIA) if not entry.is_dir}
    sidecars = sorted(p for p in files if _key_of(p, IMAGES, ".json"))
    histograms = sorted(p for p in files if _key_of(p, HISTOGRAMS, ".json"))
    read = await asyncio.gather(
        *(_read_json(store, posixpath.join(folder, p)) for p in sidecars + histograms)
    )
    images: dict[str, list[ImageFrame]] = {}
    for path, data in zip(sidecars, read[: len(sidecars)], strict=True):
        try:
            sidecar = _ImageSidecar.model_validate(data)
        except ValidationError:
            continue
        image = posixpath.join(posixpath.dirname(path), posixpath.basename(sidecar.file))
        if image in files:
            frame = ImageFrame(
                step=sidecar.step,
                path=image,
                caption=sidecar.caption,
                width=sidecar.width,
                height=sidecar.height,
            )
            images.setdefault(sidecar.key, []).append(frame)
    steps: dict[str, list[HistogramStep]] = {}
    for data in read[len(sidecars) :]:
        try:
            histogram = _Histogram.model_validate(data)
        except ValidationError:
            continue
        if len(histogram.bins) == len(histogram.counts) + 1:
            steps.setdefault(histogram.key, []).append(
                HistogramStep(step=histogram.step, bins=histogram.bins, counts=histogram.counts)
            )
    tables = []
    for path in sorted(files):
        key = _key_of(path, TABLES, ".json")
        if key is not None:
            csv = path[: -len(".json")] + ".csv"
            tables.append(TableRef(key=key, path=path, csv_path=csv if csv in files else None))
    texts = [
        TextRef(key=key, path=path)
        for path in sorted(files)
        if (key := _key_of(path, TEXTS, ".txt")) is not None
    ]
    return MediaIndex(
        images=[
            ImageSeries(key=key, frames=sorted(frames, key=lambda frame: frame.step))
            for key, frames in sorted(images.items())
        ],
        histograms=[
            HistogramSeries(key=key, steps=sorted(series, key=lambda each: each.step))
            for key, series in sorted(steps.items())
        ],
        tables=tables,
        texts=texts,
    )
