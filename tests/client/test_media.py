"""The client's media: images from arrays, PIL images and files become a PNG series with
captions; histograms from values or counts; texts. Checked on what the server received."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.images import encode_png, png_size
from trackboard.client.media_values import histogram


def _png_pixels(data: bytes) -> bytes:
    """The raw rows of an unfiltered PNG made by `encode_png`, filter bytes included."""
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    return zlib.decompress(data[start : start + length])


def test_png_encoding_keeps_every_pixel() -> None:
    pixels = bytes(range(2 * 3 * 3))  # 2 rows of 3 RGB pixels
    data = encode_png(pixels, 3, 2, 3)
    assert png_size(data) == (3, 2)
    assert _png_pixels(data) == b"\x00" + pixels[:9] + b"\x00" + pixels[9:]


def test_an_image_series_gets_steps_and_captions(fake: FakeServer, start: StartRun) -> None:
    numpy = pytest.importorskip("numpy")
    run = start()
    grey = numpy.zeros((4, 5), dtype=numpy.uint8)
    assert run.log_image("samples", grey, caption="first") == 0
    assert run.log_image("samples", numpy.ones((4, 5, 3)) * 0.5) == 1  # floats in [0, 1]
    assert run.log_image("samples", numpy.zeros((4, 5, 4), dtype=numpy.uint8), step=10) == 10
    assert run.log_image("samples", grey) == 11
    run.finish()
    stored = fake.runs[run.id].artifacts
    first = json.loads(stored["media/images/samples/0000000000.json"])
    assert first == {
        "key": "samples",
        "step": 0,
        "file": "0000000000.png",
        "caption": "first",
        "width": 5,
        "height": 4,
    }
    assert png_size(stored["media/images/samples/0000000001.png"]) == (5, 4)
    half = _png_pixels(stored["media/images/samples/0000000001.png"])
    assert half[1:4] == bytes([128, 128, 128])
    assert sorted(p for p in stored if p.endswith(".png")) == [
        f"media/images/samples/{step:010d}.png" for step in (0, 1, 10, 11)
    ]


def test_pil_images_and_image_files_are_logged(
    fake: FakeServer, start: StartRun, tmp_path: Path
) -> None:
    image_module = pytest.importorskip("PIL.Image")
    run = start()
    picture = image_module.new("RGB", (7, 3), color=(255, 0, 0))
    run.log_image("pil", picture)
    path = tmp_path / "photo.png"
    picture.save(path)
    run.log_image("file", path, caption="from disk")
    with pytest.raises(ValueError, match="image files"):
        run.log_image("file", tmp_path / "notes.txt")
    with pytest.raises(TypeError, match="log_image takes"):
        run.log_image("bad", object())
    run.finish()
    stored = fake.runs[run.id].artifacts
    assert png_size(stored["media/images/pil/0000000000.png"]) == (7, 3)
    assert stored["media/images/file/0000000000.png"] == path.read_bytes()


def test_histograms_from_values_and_from_counts(fake: FakeServer, start: StartRun) -> None:
    run = start()
    assert run.log_histogram("weights", [0.0, 1.0, 1.0, 2.0, float("nan")], bins=2) == 0
    assert run.log_histogram("weights", {"counts": [3, 4], "bins": [0, 1, 2]}) == 1
    run.finish()
    stored = fake.runs[run.id].artifacts
    first = json.loads(stored["media/histograms/weights/0000000000.json"])
    assert first == {"key": "weights", "step": 0, "bins": [0.0, 1.0, 2.0], "counts": [1.0, 3.0]}
    second = json.loads(stored["media/histograms/weights/0000000001.json"])
    assert second["counts"] == [3.0, 4.0]


def test_numpy_histograms_match_numpy() -> None:
    numpy = pytest.importorskip("numpy")
    values = numpy.random.default_rng(0).normal(size=1000)
    counts, edges = numpy.histogram(values, bins=16)
    assert histogram(values, bins=16) == {"bins": edges.tolist(), "counts": counts.tolist()}
    assert histogram((counts, edges))["counts"] == counts.tolist()


def test_text_is_stored_and_bad_keys_fail_in_the_caller(fake: FakeServer, start: StartRun) -> None:
    run = start()
    run.log_text("notes/summary", "all good ✓")
    with pytest.raises(ValueError, match="key"):
        run.log_text("../escape", "x")
    run.finish()
    assert fake.runs[run.id].artifacts["media/text/notes/summary.txt"] == "all good ✓".encode()


def test_a_finished_run_refuses_new_artifacts(start: StartRun, tmp_path: Path) -> None:
    run = start()
    run.finish()
    with pytest.raises(RuntimeError, match="finished"):
        run.log_text("late", "x")
