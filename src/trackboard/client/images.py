"""Images for `Run.log_image`: a PIL image, a numpy-like array (HxW, HxWx1, HxWx3, HxWx4)
or an image file, turned into the bytes to upload. PIL and numpy are imported only when an
image of theirs is given: the client itself depends on neither."""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILE_EXTENSIONS = {
    ".png": ".png",
    ".jpg": ".jpg",
    ".jpeg": ".jpg",
    ".gif": ".gif",
    ".webp": ".webp",
}
# PNG colour types by channels: grey, grey + alpha, RGB, RGBA.
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    extension: str
    width: int | None
    height: int | None


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(pixels: bytes, width: int, height: int, channels: int) -> bytes:
    """8-bit PNG of row-major `pixels` (`channels` bytes a pixel)."""
    stride = width * channels
    # Each row starts with its filter type (0: none); zlib does the compressing.
    raw = b"".join(b"\x00" + pixels[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPES[channels], 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header; None for anything else."""
    if data[:8] != PNG_SIGNATURE or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _from_array(image: Any) -> EncodedImage:
    import numpy as np  # only for array images

    if hasattr(image, "detach"):  # a torch tensor, possibly on a GPU
        image = image.detach().cpu().numpy()
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"an image array is HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        values = np.nan_to_num(array.astype(np.float64))
        # Floats in [0, 1] are intensities; anything else is taken as 0-255 already.
        if values.size and values.min() >= 0.0 and values.max() <= 1.0:
            values = values * 255.0
        array = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    height, width = int(array.shape[0]), int(array.shape[1])
    channels = 1 if array.ndim == 2 else int(array.shape[2])
    data = encode_png(np.ascontiguousarray(array).tobytes(), width, height, channels)
    return EncodedImage(data, ".png", width, height)


def _from_pil(image: Any) -> EncodedImage:
    import io

    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return EncodedImage(buffer.getvalue(), ".png", int(image.width), int(image.height))


def _from_file(path: Path) -> EncodedImage:
    extension = FILE_EXTENSIONS.get(path.suffix.lower())
    if extension is None:
        known = ", ".join(sorted(FILE_EXTENSIONS))
        raise ValueError(f"image files must be one of {known}, got {path.name!r}")
    data = path.read_bytes()
    size = png_size(data)
    return EncodedImage(data, extension, *(size or (None, None)))


def encode_image(image: Any) -> EncodedImage:
    """The image as file bytes: PNG for PIL images and arrays, files as they are."""
    if isinstance(image, (str, os.PathLike)):
        return _from_file(Path(image))
    if type(image).__module__.split(".")[0] == "PIL":
        return _from_pil(image)
    if hasattr(image, "__array__") or hasattr(image, "__array_interface__"):
        return _from_array(image)
    raise TypeError(
        "log_image takes a PIL image, a numpy array (HxW, HxWx3, HxWx4) or an image file path,"
        f" got {type(image).__name__}"
    )
