"""Pack a run of metric points into one blob, and back, fast in both directions.

Layout (version 2), little-endian:
    header   version u8, point count u32, flags u8
    steps    flags & STEPS_STRIDE: first i64, stride i64 (the common 0, 1, 2, … case);
             else: u32 length + zlib of i64 deltas
    times    u32 length + zlib of deltas, i32 when they fit (flags & TIMES_I32), else i64
    values   raw f64
Training steps and timestamps move in near-constant strides, so they shrink to a byte or
two a point; values stay 8 bytes and are not compressed, since float noise barely
compresses and decoding them is then a plain copy. A stored point costs about 9-10 bytes.
"""

import struct
import zlib

import numpy as np
import numpy.typing as npt

# Int64Array is re-exported: tests that decode chunks read it from here.
from trackboard.server.metrics.points import Int64Array as Int64Array
from trackboard.server.metrics.points import Points

VERSION = 2
STEPS_STRIDE = 1
TIMES_I32 = 2
_HEADER = struct.Struct("<BIB")
_STRIDE = struct.Struct("<qq")
_LENGTH = struct.Struct("<I")
_I32 = np.iinfo(np.int32)
_I64 = np.iinfo(np.int64)


def _deltas(column: Int64Array) -> Int64Array:
    out = np.empty_like(column)
    if len(column):
        out[0] = column[0]
        np.subtract(column[1:], column[:-1], out=out[1:])
    return out


def _compressed(array: npt.NDArray[np.generic]) -> bytes:
    packed = zlib.compress(array.tobytes(), 1)
    return _LENGTH.pack(len(packed)) + packed


def _stride(steps: Int64Array) -> int | None:
    """The constant step stride, if the steps have one."""
    if len(steps) < 2:
        return 1
    stride = int(steps[1]) - int(steps[0])
    if not _I64.min <= stride <= _I64.max:
        return None
    return stride if bool(np.all(np.diff(steps) == stride)) else None


def encode_chunk(points: Points) -> bytes:
    steps = points.steps.astype("<i8", copy=False)
    flags = 0
    parts: list[bytes] = []
    stride = _stride(steps)
    if stride is not None:
        flags |= STEPS_STRIDE
        parts.append(_STRIDE.pack(int(steps[0]) if len(steps) else 0, stride))
    else:
        parts.append(_compressed(_deltas(steps)))
    time_deltas = _deltas(points.timestamps.astype("<i8", copy=False))
    if (
        len(time_deltas)
        and time_deltas[1:].min(initial=0) >= _I32.min
        and (time_deltas[1:].max(initial=0) <= _I32.max)
    ):
        # The first delta is the absolute start; it travels in the header's place.
        flags |= TIMES_I32
        parts.append(struct.pack("<q", int(time_deltas[0])))
        parts.append(_compressed(time_deltas[1:].astype("<i4")))
    else:
        parts.append(_compressed(time_deltas))
    parts.append(points.values.astype("<f8", copy=False).tobytes())
    return _HEADER.pack(VERSION, len(points), flags) + b"".join(parts)


def _read_compressed(
    blob: memoryview, offset: int, dtype: str
) -> tuple[npt.NDArray[np.generic], int]:
    (length,) = _LENGTH.unpack_from(blob, offset)
    start = offset + _LENGTH.size
    array = np.frombuffer(zlib.decompress(blob[start : start + length]), dtype=dtype)
    return array, start + length


def decode_chunk(blob: bytes) -> Points:
    view = memoryview(blob)
    version, count, flags = _HEADER.unpack_from(view)
    if version != VERSION:
        raise ValueError(f"unknown metric chunk version {version}")
    offset = _HEADER.size
    if flags & STEPS_STRIDE:
        first, stride = _STRIDE.unpack_from(view, offset)
        offset += _STRIDE.size
        steps = first + stride * np.arange(count, dtype=np.int64)
    else:
        deltas, offset = _read_compressed(view, offset, "<i8")
        steps = np.cumsum(deltas, dtype=np.int64)
    if flags & TIMES_I32:
        (first_time,) = struct.unpack_from("<q", view, offset)
        small, offset = _read_compressed(view, offset + 8, "<i4")
        timestamps = np.empty(count, dtype=np.int64)
        if count:
            timestamps[0] = first_time
            np.cumsum(small, dtype=np.int64, out=timestamps[1:])
            timestamps[1:] += first_time
    else:
        deltas, offset = _read_compressed(view, offset, "<i8")
        timestamps = np.cumsum(deltas, dtype=np.int64)
    values = np.frombuffer(view, dtype="<f8", count=count, offset=offset).astype(np.float64)
    return Points(steps, timestamps, values)
