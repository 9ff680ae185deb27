"""Grouped charts, x axes, scatter and parameter importance in the compare view (headless
Chromium against a real server): runs logged through the API are grouped by a param into
mean lines with shaded bands, drawn against another metric, plotted against each other and
scored, with the console free of errors."""

import math

from playwright.async_api import Locator, Page, expect

from tests.e2e.api import Api
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.pixels import coloured_pixels
from tests.e2e.servers import ServerProcess
from tests.e2e.test_dashboard_editing import console_errors, eventually, query

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear

TIMEOUT_MS = 10_000

# A band is filled at 15 % opacity: pixels that are coloured but translucent. Lines are
# opaque, except for their anti-aliased edges.
TRANSLUCENT_PIXELS_JS = """
(canvas) => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i], g = d[i + 1], b = d[i + 2], a = d[i + 3];
    if (a > 10 && a < 90 && Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
  }
  return n;
}
"""


async def translucent_pixels(canvas: Locator) -> int:
    count: int = await canvas.evaluate(TRANSLUCENT_PIXELS_JS)
    return count


async def drawn(canvas: Locator, at_least: int) -> bool:
    return await coloured_pixels(canvas) >= at_least


async def log_sweep(api: Api) -> list[str]:
    """Four runs, two learning rates; the loss curves of a learning rate lie apart, so
    their group's band has an area; acc follows the learning rate, not the seed."""
    experiment_id = await api.experiment("compare-analysis")
    runs = [("0.1", "1", 0.0, 0.90), ("0.1", "3", 0.6, 0.88), ("0.01", "2", 1.5, 0.60)]
    runs.append(("0.01", "4", 2.4, 0.62))
    ids = []
    steps = list(range(41))
    for i, (lr, seed, offset, acc) in enumerate(runs):
        run_id = await api.run(experiment_id, f"sweep-{i}", {"lr": lr, "seed": seed})
        await api.log(run_id, "loss", steps, [offset + 3 * math.exp(-s / 10) for s in steps])
        await api.log(run_id, "epoch", [0, 10, 20, 30, 40], [0, 1, 2, 3, 4])
        await api.log(run_id, "acc", [40], [acc])
        await api.finish(run_id)
        ids.append(run_id)
    return ids


async def test_grouping_x_axes_scatter_and_importance_are_drawn(
    page: Page, api: Api, server: ServerProcess
) -> None:
    ids = await log_sweep(api)
    await page.goto(f"{server.base_url}/compare?runs={','.join(ids)}")
    await expect(page.get_by_test_id("compare-legend")).to_contain_text(
        "sweep-3", timeout=TIMEOUT_MS
    )
    loss = page.locator('[data-testid="metric-chart"][data-key="loss"]')
    # Charts are drawn once scrolled near; loss is the third (keys are sorted).
    await page.locator(".charts > div").nth(2).scroll_into_view_if_needed()
    canvas = loss.locator("canvas")
    await expect(canvas).to_have_count(1, timeout=TIMEOUT_MS)
    ungrouped_band = await translucent_pixels(canvas)

    # Grouped by lr: two groups in the legend with their run counts, bands on the chart.
    await page.get_by_label("Group by").select_option("params.lr")
    assert query(page)["group"] == ["params.lr"]
    legend = page.get_by_test_id("group-legend")
    await expect(legend.locator('[data-group="0.01"]')).to_have_text("lr=0.01 (2 runs)")
    await expect(legend.locator('[data-group="0.1"]')).to_have_text("lr=0.1 (2 runs)")
    await expect(loss.get_by_test_id("chart-summary")).to_contain_text(
        "2 groups by lr, mean and min\u2013max", timeout=TIMEOUT_MS
    )
    await expect(loss.locator(".u-legend")).to_contain_text("lr=0.1 (2 runs)")
    await expect(loss.locator(".u-legend")).to_contain_text("lr=0.1 max")
    grouped_band = await translucent_pixels(canvas)
    assert grouped_band > ungrouped_band + 2000, (ungrouped_band, grouped_band)

    await page.get_by_label("Band").select_option("std")
    assert query(page)["band"] == ["std"]
    await expect(loss.locator(".u-legend")).to_contain_text("lr=0.1 +1\u03c3", timeout=TIMEOUT_MS)
    assert await translucent_pixels(canvas) > ungrouped_band + 1000

    # x axis: relative time, then the epoch metric joined on the step.
    await page.get_by_label("x axis").select_option("relative")
    assert query(page)["x"] == ["relative"]
    await expect(loss.get_by_test_id("chart-summary")).to_contain_text(
        "x: seconds since start", timeout=TIMEOUT_MS
    )
    await page.get_by_label("x axis").select_option("metric:epoch")
    assert query(page)["x"] == ["metric:epoch"]
    await expect(loss.get_by_test_id("chart-summary")).to_contain_text(
        "x: epoch", timeout=TIMEOUT_MS
    )
    await expect(loss.locator(".u-legend")).to_contain_text("epoch", timeout=TIMEOUT_MS)
    await eventually(lambda: drawn(loss.locator("canvas"), 200))
    await page.screenshot(path=str(ARTIFACTS / "compare-grouped-bands.png"), full_page=True)

    # Scatter: lr against acc, one point per run in its colour.
    scatter = page.get_by_test_id("scatter-panel")
    await scatter.scroll_into_view_if_needed()
    await scatter.get_by_label("Scatter x").select_option("params.lr")
    await scatter.get_by_label("Scatter y").select_option("metrics.acc")
    assert query(page)["sx"] == ["params.lr"]
    assert query(page)["sy"] == ["metrics.acc"]
    chart = scatter.get_by_test_id("scatter-chart")
    await expect(chart).to_have_attribute("data-points", "4", timeout=TIMEOUT_MS)
    await eventually(lambda: drawn(chart.locator("canvas"), 100))
    # Hovering sweep-0's point (lr 0.1, acc 0.9: the top right, inside the axes' 6 %
    # padding on each side) names the run.
    over = chart.locator(".u-over")
    box = await over.bounding_box()
    assert box is not None
    await over.hover(position={"x": box["width"] * 0.946, "y": box["height"] * 0.054})
    await expect(scatter.get_by_test_id("scatter-tip")).to_have_text(
        "sweep-0: lr 0.1, acc 0.9", timeout=TIMEOUT_MS
    )

    # Importance for acc: lr explains it, the seed does not.
    metric_select = page.get_by_label("Parallel coordinates metric")
    await metric_select.select_option("acc")
    table = page.get_by_test_id("importance-table")
    await table.scroll_into_view_if_needed()
    await expect(page.get_by_test_id("importance-panel")).to_contain_text(
        "Parameter importance for acc", timeout=TIMEOUT_MS
    )
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_have_attribute("data-param", "lr")
    await expect(rows.first).to_contain_text("1.00")
    # Seeds 1, 2 and 3, 4 fall in two bins whose mean acc is the same: η = 0.
    await expect(rows.nth(1)).to_have_attribute("data-param", "seed")
    await expect(rows.nth(1).locator("td").nth(1)).to_have_text("0.00")
    await page.screenshot(path=str(ARTIFACTS / "compare-scatter-importance.png"), full_page=True)

    # The link reproduces the whole view.
    await page.goto(page.url)
    await expect(page.get_by_test_id("group-legend")).to_contain_text(
        "lr=0.1 (2 runs)", timeout=TIMEOUT_MS
    )
    await expect(page.get_by_label("x axis")).to_have_value("metric:epoch")
    await expect(page.get_by_label("Band")).to_have_value("std")


async def test_run_page_draws_against_another_metric(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("run-x-axis")
    run_id = await api.run(experiment_id, "epochs")
    await api.log(run_id, "loss", list(range(20)), [1 / (s + 1) for s in range(20)])
    await api.log(run_id, "epoch", [0, 10], [0, 1])

    await page.goto(f"{server.base_url}/runs/{run_id}")
    await page.get_by_label("x axis").select_option("metric:epoch")
    assert query(page)["x"] == ["metric:epoch"]
    loss = page.locator('[data-testid="metric-chart"][data-key="loss"]')
    # The legend's first entry is the x axis, named after the metric.
    await expect(loss.locator(".u-legend .u-series").first).to_contain_text(
        "epoch", timeout=TIMEOUT_MS
    )
    await eventually(lambda: drawn(loss.locator("canvas"), 100))
