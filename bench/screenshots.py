"""Regenerates the README and docs screenshots (docs/img/*.png) from the current dashboard.

    python bench/screenshots.py [--out docs/img]

Starts a real `trackboard server` (embedded SQLite) in a temporary home, fills it with a
small sweep (20 runs in 4 optimizer groups, logged through the v1 API) and one run logged
through the Python client with images, histograms, a table, a text and artifact files,
then takes light-theme 1280x800 screenshots in Debian's Chromium and writes them as
palette PNGs. Needs a built dashboard (make dashboard).
"""

import argparse
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image
from playwright.sync_api import ViewportSize
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.servers import REPO, ServerProcess

from bench.dashboard_seed import GROUP_PARAM, sample_image, seed_compare_runs
from trackboard.client.run import start_run
from trackboard.client.settings import ClientSettings

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
EXPERIMENT = "cifar10-resnet18"
TIMEOUT_MS = 30_000
# Shots of one element rather than the viewport: the diff ends the compare page.
ELEMENT_SHOTS = {"run-diff.png": "run-diff"}
NOTE = (
    "## Baseline\n\nResNet-18 on CIFAR-10, cosine schedule, no augmentation beyond flips."
    "\n\n- warm-up: 500 steps\n- **best** val/acc so far"
)


def seed_sweep(client: httpx.Client) -> list[str]:
    """20 runs in 4 optimizer groups with tags, one of them with a note."""
    run_ids = seed_compare_runs(client, runs=20, points=400, groups=4, name=EXPERIMENT)
    for i, run_id in enumerate(run_ids):
        tags = {"model": "resnet18", "dataset": "cifar10", "stage": ["sweep", "tuning"][i % 2]}
        client.post(f"/runs/{run_id}/tags", json={"tags": tags}).raise_for_status()
    note = {"tags": {"mlflow.note.content": NOTE}}
    client.post(f"/runs/{run_ids[0]}/tags", json=note).raise_for_status()
    return run_ids


def seed_media_run(url: str, home: Path) -> str:
    """A run logged through the client: metrics, an image series, a histogram series, a
    table, a text and a few files."""
    settings = ClientSettings(url=url, home=home / "client", flush_interval=0.05)
    config = {"optimizer": "adamw", "lr": 0.003, "batch_size": 128, "seed": 99}
    run = start_run(settings, EXPERIMENT, name="adamw-samples", config=config)
    rng = numpy.random.default_rng(3)
    for step in range(30):
        run.log({"train/loss": 2.3 * 0.9**step + 0.1, "val/acc": 0.9 * (1 - 0.9**step)}, step)
        run.log_image("samples", sample_image(step * 4, 96), step=step, caption=f"epoch {step}")
        run.log_histogram("weights/fc", rng.normal(0, 1 / (1 + step / 10), 2000), step)
    confusion = [
        {"class": name, "precision": round(0.8 + 0.02 * i, 3), "recall": round(0.78 + 0.02 * i, 3)}
        for i, name in enumerate(["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse"])
    ]
    run.log_table("per_class", confusion)
    run.log_text("summary", "best val/acc 0.87 at epoch 29\ncheckpoint: model/best.pt\n")
    files = home / "files"
    (files / "model").mkdir(parents=True)
    (files / "config.yaml").write_text(
        "model: resnet18\noptimizer:\n  name: adamw\n  lr: 0.003\n  weight_decay: 0.05\n"
        "schedule: cosine\nepochs: 30\nbatch_size: 128\n"
    )
    (files / "README.md").write_text("# adamw-samples\n\nCheckpoints and the eval split.\n")
    (files / "model" / "best.pt").write_bytes(bytes(range(256)) * 64)
    scores = "epoch,train_loss,val_acc\n" + "".join(
        f"{e},{2.3 * 0.9**e + 0.1:.4f},{0.9 * (1 - 0.9**e):.4f}\n" for e in range(30)
    )
    (files / "eval").mkdir()
    (files / "eval" / "scores.csv").write_text(scores)
    run.log_artifacts(files)
    run.finish()
    return run.id


def save_png(png: bytes, path: Path) -> int:
    """Writes the screenshot as a 256-colour palette PNG (a UI has few colours); its size."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


# The element at the top of the viewport, under the sticky top bar, whatever element
# scrolls the page.
SCROLL_TO_JS = """
(id) => {
  const el = document.querySelector(`[data-testid="${id}"]`);
  el.scrollIntoView({ block: "start" });
  let scroller = el.parentElement;
  while (scroller && scroller.scrollHeight <= scroller.clientHeight) {
    scroller = scroller.parentElement;
  }
  (scroller ?? document.scrollingElement).scrollBy(0, -48);
  return el.getBoundingClientRect().top;
}
"""
TOP_JS = """(id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect().top"""

# Every compare chart rendered (near the viewport) has all its runs' series.
COMPARE_DRAWN_JS = """
() => {
  const runs = new URLSearchParams(location.search).get("runs").split(",").length;
  const cards = [...document.querySelectorAll('[data-testid="metric-chart"]')];
  return cards.every(c => Number(c.dataset.runs) >= runs);
}
"""


def wait_compare_charts(page: Any) -> None:
    page.wait_for_function(COMPARE_DRAWN_JS, timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)


def wait_charts(page: Any, count: int) -> None:
    page.wait_for_function(
        """(n) => [...document.querySelectorAll('[data-testid="metric-chart"]')]
             .filter(c => Number(c.dataset.points) > 0 && c.querySelector('canvas')).length >= n""",
        arg=count,
        timeout=TIMEOUT_MS,
    )


def shots(
    base: str, experiment: int, sweep: list[str], media_run: str
) -> dict[str, tuple[str, Callable[[Any], None]]]:
    """File name → (URL, what to wait for / where to scroll before the screenshot)."""
    compared = ",".join(sweep[:12])
    group = f"group=params.{GROUP_PARAM}"

    def scroll_to(test_id: str) -> Callable[[Any], None]:
        def prepare(page: Any) -> None:
            page.get_by_test_id(test_id).first.wait_for(timeout=TIMEOUT_MS)
            # Charts drawn near the viewport grow and push the element down: scroll again
            # until it stays at the top.
            for _ in range(20):
                top = page.evaluate(SCROLL_TO_JS, test_id)
                page.wait_for_timeout(400)
                wait_compare_charts(page)
                if abs(page.evaluate(TOP_JS, test_id) - top) < 1:
                    break

        return prepare

    def runs_table(page: Any) -> None:
        page.locator('[data-testid="runs-scroll"] .grid-row.body').first.wait_for(
            timeout=TIMEOUT_MS
        )

    def run_page(page: Any) -> None:
        wait_charts(page, 2)
        page.wait_for_timeout(1500)

    def media(page: Any) -> None:
        page.get_by_test_id("series-image").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="image-series"]')
                 .textContent.includes('loading')""",
            timeout=TIMEOUT_MS,
        )
        # The image series and the histograms under it.
        page.evaluate(SCROLL_TO_JS, "media-tab")
        page.wait_for_timeout(500)

    def artifacts(page: Any) -> None:
        page.get_by_test_id("preview-table").wait_for(timeout=TIMEOUT_MS)

    selected = ",".join(sweep[:12])
    columns = "&".join(
        f"col={c}"
        for c in (
            "params.optimizer",
            "params.lr",
            "metrics.val/acc",
            "metrics.val/loss",
            "tags.stage",
        )
    )
    return {
        "run-page.png": (f"{base}/runs/{sweep[0]}?smooth=0.6", run_page),
        "runs-table.png": (
            f"{base}/experiments/{experiment}?order=-metrics.val/acc&sel={selected}&{group}"
            f"&{columns}",
            runs_table,
        ),
        "compare.png": (
            f"{base}/compare?runs={compared}&{group}&metric=val/acc",
            scroll_to("group-controls"),
        ),
        "compare-scatter-importance.png": (
            f"{base}/compare?runs={compared}&metric=val/acc&sx=params.lr&sy=metrics.val/acc",
            scroll_to("scatter-panel"),
        ),
        "run-diff.png": (
            f"{base}/compare?runs={','.join(sweep[:4])}&diff=only",
            scroll_to("run-diff"),
        ),
        "artifacts-tab.png": (
            f"{base}/runs/{media_run}?tab=artifacts&file=eval/scores.csv",
            artifacts,
        ),
        "media-tab.png": (f"{base}/runs/{media_run}?tab=media", media),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server = ServerProcess(home, home / "server.log")
        try:
            with httpx.Client(base_url=server.base_url + "/api/v1", timeout=60) as client:
                sweep = seed_sweep(client)
                media_run = seed_media_run(server.base_url, home)
                experiment = client.get(f"/runs/{sweep[0]}").json()["experiment_id"]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                views = shots(server.base_url, experiment, sweep, media_run)
                for name, (url, prepare) in views.items():
                    page.goto(url)
                    prepare(page)
                    only = ELEMENT_SHOTS.get(name)
                    png = page.get_by_test_id(only).screenshot() if only else page.screenshot()
                    size = save_png(png, args.out / name)
                    print(f"{name}: {size / 1024:.0f} KB")
                browser.close()
            if errors:
                sys.exit(f"errors in the page: {errors}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
