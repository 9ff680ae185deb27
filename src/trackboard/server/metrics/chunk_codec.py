"""Pack a run of metric points into one compressed blob, and back.

Layout (version 1): 1 byte version, 4 bytes point count, then zlib of three int64/float64
arrays: step deltas, timestamp deltas, values. Steps and timestamps of a training series
move in near-constant strides, so their deltas compress to almost nothing; values stay
8 bytes. That is what keeps a stored point near 10 bytes on disk.
"""

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

VERSION = 1
_HEADER = struct.Struct("<BI")

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Points:
    """Columns of one key's points: same length, any order unless said otherwise."""

    steps: Int64Array
    timestamps: Int64Array
    values: Float64Array

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def empty(cls) -> "Points":
        return cls(
            np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        )

    @classmethod
    def concat(cls, parts: "list[Points]") -> "Points":
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def take(self, index: npt.NDArray[np.intp] | slice) -> "Points":
        return Points(self.steps[index], self.timestamps[index], self.values[index])

    def sorted_by_step(self) -> "Points":
        """Step order, ties by timestamp; stable, and free when already in order."""
        steps = self.steps
        if len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1])):
            return self
        order = np.lexsort((self.timestamps, steps))
        return self.take(order)


def _deltas(column: Int64Array) -> Int64Array:
    out = np.empty_like(column)
    if len(column):
        out[0] = column[0]
        np.subtract(column[1:], column[:-1], out=out[1:])
    return out


def encode_chunk(points: Points) -> bytes:
    body = b"".join(
        (
            _deltas(points.steps).astype("<i8", copy=False).tobytes(),
            _deltas(points.timestamps).astype("<i8", copy=False).tobytes(),
            points.values.astype("<f8", copy=False).tobytes(),
        )
    )
    return _HEADER.pack(VERSION, len(points)) + zlib.compress(body, 1)


def decode_chunk(blob: bytes) -> Points:
    version, count = _HEADER.unpack_from(blob)
    if version != VERSION:
        raise ValueError(f"unknown metric chunk version {version}")
    body = zlib.decompress(memoryview(blob)[_HEADER.size :])
    columns = np.frombuffer(body, dtype="<i8", count=2 * count)
    steps = np.cumsum(columns[:count], dtype=np.int64)
    timestamps = np.cumsum(columns[count:], dtype=np.int64)
    values = np.frombuffer(body, dtype="<f8", offset=16 * count, count=count).astype(np.float64)
    return Points(steps, timestamps, values)
