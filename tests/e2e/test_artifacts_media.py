"""Artifacts and media in the dashboard (headless Chromium against a real server): an image
series, a histogram, a table, a text file and a CSV logged through the Python client; the
Media tab scrubs the series with its slider; the Artifacts tab previews the text and the
CSV. The console must stay free of errors."""

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.servers import ServerProcess
from tests.e2e.test_dashboard_editing import console_errors
from trackboard.client.run import start_run
from trackboard.client.settings import ClientSettings

TIMEOUT_MS = 10_000
STEPS = 12

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear


def log_run(url: str, home: Path, files: Path) -> str:
    """A run logged the way training code logs one, through the client's background sender."""
    import numpy

    settings = ClientSettings(url=url, home=home, flush_interval=0.05, finish_timeout=30.0)
    run = start_run(settings, "media-e2e", name="with-media")
    for step in range(STEPS):
        # Each step's image is a different grey, so frames are told apart by their pixels.
        image = numpy.full((24, 32, 3), step * 20, dtype=numpy.uint8)
        run.log_image("samples", image, step=step * 10, caption=f"epoch {step}")
        run.log_histogram("weights", numpy.random.default_rng(step).normal(step, 1, 500), step)
    run.log_table("predictions", [{"label": "cat", "score": 0.9}, {"label": "dog", "score": 0.4}])
    (files / "notes.txt").write_text("trained on the small split\n")
    (files / "scores.csv").write_text(
        "epoch,loss\n" + "".join(f"{i},{1 / (i + 1)}\n" for i in range(50))
    )
    run.log_artifact(files / "notes.txt")
    run.log_artifact(files / "scores.csv", name="eval/scores.csv")
    run.finish()
    return run.id


async def test_an_image_series_scrubs_and_artifacts_preview(
    page: Page, server: ServerProcess, tmp_path: Path
) -> None:
    pytest.importorskip("numpy")
    files = tmp_path / "files"
    files.mkdir()
    run_id = await asyncio.to_thread(log_run, server.base_url, tmp_path / "client", files)

    await page.goto(f"{server.base_url}/runs/{run_id}?tab=media")
    series = page.get_by_test_id("image-series")
    await expect(series).to_have_attribute("data-key", "samples", timeout=TIMEOUT_MS)
    step = page.get_by_test_id("image-step")
    await expect(step).to_have_text(f"step {(STEPS - 1) * 10}")
    slider = page.get_by_test_id("image-slider")
    await slider.focus()
    await page.keyboard.press("Home")
    await expect(step).to_have_text("step 0")
    await expect(page.get_by_test_id("image-caption")).to_have_text("epoch 0")
    # Scrub through every frame: each shows its own step and image.
    image = page.get_by_test_id("series-image")
    for index in range(1, STEPS):
        await page.keyboard.press("ArrowRight")
        await expect(image).to_have_attribute("data-step", str(index * 10))
    await expect(page.get_by_test_id("image-caption")).to_have_text(f"epoch {STEPS - 1}")
    loaded = await image.evaluate("(img) => img.complete && img.naturalWidth")
    assert loaded == 32
    await expect(page.get_by_test_id("histogram-series")).to_have_attribute("data-key", "weights")
    await expect(page.get_by_test_id("media-table")).to_contain_text("cat")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "run-media-tab.png"), full_page=True)

    await page.get_by_test_id("tab-artifacts").click()
    await expect(page).to_have_url(f"{server.base_url}/runs/{run_id}?tab=artifacts")
    await page.locator('[data-testid="tree-file"][data-path="notes.txt"]').click()
    await expect(page.get_by_test_id("preview-text")).to_have_text("trained on the small split\n")
    await page.locator('[data-testid="tree-folder"][data-path="eval"]').click()
    await page.locator('[data-testid="tree-file"][data-path="eval/scores.csv"]').click()
    table = page.get_by_test_id("preview-table")
    await expect(table).to_have_attribute("data-rows", "50", timeout=TIMEOUT_MS)
    await expect(table.get_by_test_id("vtable-row").first).to_contain_text("0")
    # Only the rows in view are in the page.
    assert await table.get_by_test_id("vtable-row").count() < 50
    # The preview is a link: opening it again shows the same file.
    await page.reload()
    await expect(page.get_by_test_id("preview-table")).to_have_attribute("data-rows", "50")
