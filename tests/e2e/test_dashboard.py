"""The dashboard in headless Chromium against a real server: every page, filter, sort,
selection, compare, charts drawn, chart options in the URL, live updates; the console must
stay free of errors."""

import math
import re
import time
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, Request, expect

from tests.e2e.api import Api
from tests.e2e.live import live_or_skip
from tests.e2e.pixels import coloured_pixels
from tests.e2e.servers import ServerProcess
from tests.e2e.test_dashboard_editing import console_errors

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear

TIMEOUT_MS = 10_000
REFUSED_FILTER = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


async def seed_sweep(api: Api, name: str, runs: int = 30) -> tuple[int, list[str]]:
    """Runs whose final acc is i/runs, lr alternating, each with a loss and acc history."""
    experiment_id = await api.experiment(name)
    ids = []
    for i in range(runs):
        run_id = await api.run(
            experiment_id,
            f"run-{i:02d}",
            {"lr": ["0.1", "0.01", "0.001"][i % 3], "optimizer": ["adam", "sgd"][i % 2]},
        )
        steps = list(range(50))
        final = i / runs
        await api.log(run_id, "acc", steps, [final * (s + 1) / 50 for s in steps])
        await api.log(run_id, "loss", steps, [2.0 * math.exp(-s / 10) + (1 - final) for s in steps])
        ids.append(run_id)
    return experiment_id, ids


async def test_experiments_page_lists_searches_and_counts_runs(
    page: Page, api: Api, server: ServerProcess, color_scheme: str
) -> None:
    mnist = await api.experiment(f"mnist-{color_scheme}")
    await api.experiment(f"cifar-{color_scheme}")
    for i in range(3):
        await api.run(mnist, f"r{i}")

    await page.goto(server.base_url + "/")
    table = page.get_by_test_id("experiments-table")
    await expect(table.get_by_role("link", name=f"mnist-{color_scheme}")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    await expect(table.get_by_role("link", name=f"cifar-{color_scheme}")).to_be_visible()
    row = table.locator(f'tr[data-experiment-id="{mnist}"]')
    await expect(row.get_by_test_id("run-count")).to_contain_text("3", timeout=TIMEOUT_MS)

    await page.get_by_label("Search experiments by name").fill(f"cifar-{color_scheme}")
    await expect(table.get_by_role("link", name=f"mnist-{color_scheme}")).to_have_count(
        0, timeout=TIMEOUT_MS
    )
    await expect(table.get_by_role("link", name=f"cifar-{color_scheme}")).to_be_visible()
    assert query(page)["q"] == [f"cifar-{color_scheme}"]

    await table.get_by_role("link", name=f"cifar-{color_scheme}").click()
    await expect(page).to_have_url(re.compile(r"/experiments/\d+$"))


async def test_runs_table_filters_sorts_selects_and_opens_compare(
    page: Page, api: Api, server: ServerProcess, console_errors: list[str]
) -> None:
    experiment_id, ids = await seed_sweep(api, "sweep-table")
    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    footer = page.get_by_test_id("runs-footer")
    await expect(footer).to_contain_text("30 runs loaded", timeout=TIMEOUT_MS)

    # A filter the server rejects: its 400 message is shown under the box.
    box = page.get_by_label("Filter runs")
    await box.fill("metrics.acc >> 1")
    await box.press("Enter")
    alert = page.get_by_role("alert")
    await expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    assert "acc" in (await alert.inner_text())
    await expect(box).to_have_attribute("aria-invalid", "true")
    # Chromium logs the refused request as a console error: that one, and nothing else.
    for _ in range(50):
        if console_errors:
            break
        await page.wait_for_timeout(100)
    assert console_errors == [REFUSED_FILTER]
    console_errors.clear()

    await box.fill("metrics.acc > 0.5 and params.optimizer = 'adam'")
    await box.press("Enter")
    await expect(page.get_by_role("alert")).to_have_count(0, timeout=TIMEOUT_MS)
    # acc = i/30 > 0.5 for i in 16..29, adam for even i: 16, 18, …, 28.
    await expect(footer).to_contain_text("7 runs loaded", timeout=TIMEOUT_MS)
    assert query(page)["filter"] == ["metrics.acc > 0.5 and params.optimizer = 'adam'"]

    header = page.locator('[data-column="metrics.acc"]')
    await header.click()
    await expect(header).to_have_attribute("aria-sort", "ascending", timeout=TIMEOUT_MS)
    assert query(page)["order"] == ["metrics.acc"]
    first = page.locator(".grid-row.body").first
    await expect(first).to_have_attribute("data-run-id", ids[16], timeout=TIMEOUT_MS)
    await header.click()
    await expect(header).to_have_attribute("aria-sort", "descending")
    await expect(page.locator(".grid-row.body").first).to_have_attribute(
        "data-run-id", ids[28], timeout=TIMEOUT_MS
    )

    await page.get_by_label("Select run run-28").check()
    await page.get_by_label("Select run run-26").check()
    assert query(page)["sel"] == [f"{ids[28]},{ids[26]}"]

    # The URL alone reproduces the view.
    await page.reload()
    await expect(page.locator('[data-column="metrics.acc"]')).to_have_attribute(
        "aria-sort", "descending", timeout=TIMEOUT_MS
    )
    await expect(page.get_by_label("Filter runs")).to_have_value(
        "metrics.acc > 0.5 and params.optimizer = 'adam'"
    )
    await expect(page.get_by_label("Select run run-26")).to_be_checked()

    await page.get_by_role("button", name="Compare (2)").click()
    await expect(page).to_have_url(re.compile(r"/compare\?runs="))
    assert query(page)["runs"] == [f"{ids[28]},{ids[26]}"]
    await expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(
        2, timeout=TIMEOUT_MS
    )


async def test_column_choice_is_kept_in_the_url(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id, _ = await seed_sweep(api, "sweep-columns", runs=3)
    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    await expect(page.locator('[data-column="metrics.loss"]')).to_be_visible(timeout=TIMEOUT_MS)
    await page.get_by_role("button", name=re.compile(r"^Columns")).click()
    await (
        page.get_by_role("dialog", name="Choose columns")
        .get_by_role("checkbox", name="loss")
        .uncheck()
    )
    await expect(page.locator('[data-column="metrics.loss"]')).to_have_count(0)
    assert "metrics.loss" not in query(page)["col"]
    assert "metrics.acc" in query(page)["col"]


async def test_run_page_draws_each_metric_and_zooms_at_finer_resolution(
    page: Page, api: Api, server: ServerProcess, color_scheme: str
) -> None:
    experiment_id = await api.experiment(f"run-page-{color_scheme}")
    run_id = await api.run(experiment_id, "bright-fox", {"lr": "0.01", "layers": "4"})
    steps = list(range(5_000))
    loss = [1 / (1 + s / 100) for s in steps]
    loss[2_500] = math.nan  # a gap, not a crash
    await api.log(run_id, "loss", steps, loss)
    await api.log(run_id, "acc", steps, [1 - v if not math.isnan(v) else 0.5 for v in loss])
    await api.finish(run_id)

    history_requests: list[str] = []

    def remember(request: Request) -> None:
        if "/metrics/" in request.url:
            history_requests.append(request.url)

    page.on("request", remember)
    await page.goto(f"{server.base_url}/runs/{run_id}")
    await expect(page.get_by_role("heading", name=re.compile("bright-fox"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    await expect(page.get_by_text("FINISHED").first).to_be_visible()
    await expect(page.get_by_test_id("params-table")).to_contain_text("layers")
    charts = page.get_by_test_id("metric-chart")
    await expect(charts).to_have_count(2, timeout=TIMEOUT_MS)
    for key in ("acc", "loss"):
        canvas = page.locator(f'[data-testid="metric-chart"][data-key="{key}"] canvas')
        await expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
        assert await coloured_pixels(canvas) > 200, f"{key}: nothing drawn"
    assert all("format=columns" in u and "max_points=" in u for u in history_requests)

    # Chart options live in the URL.
    await page.get_by_label("log scale").check()
    await page.get_by_label("x axis").select_option("time")
    assert query(page)["log"] == ["1"]
    assert query(page)["x"] == ["time"]
    await page.get_by_label("x axis").select_option("step")
    await page.get_by_label("smoothing").fill("0.8")
    assert query(page)["smooth"] == ["0.8"]

    # Drag across the middle of the loss chart: a narrower, finer request follows.
    history_requests.clear()
    over = page.locator('[data-testid="metric-chart"][data-key="loss"] .u-over')
    box = await over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] * 0.4, y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    await page.mouse.up()
    await expect(page).to_have_url(re.compile(r"zoom=\d+\.\.\d+"), timeout=TIMEOUT_MS)
    lo, hi = (int(v) for v in query(page)["zoom"][0].split(".."))
    assert 1_000 < lo < hi < 3_500
    deadline = time.monotonic() + 5
    while not any("start_step=" in u for u in history_requests) and time.monotonic() < deadline:
        await page.wait_for_timeout(100)
    assert any(f"start_step={lo}" in u and f"end_step={hi}" in u for u in history_requests)
    canvas = page.locator('[data-testid="metric-chart"][data-key="loss"] canvas')
    await page.wait_for_timeout(300)
    assert await coloured_pixels(canvas) > 200

    await page.get_by_role("button", name=re.compile("Reset zoom")).click()
    assert "zoom" not in query(page)


async def test_compare_overlays_runs_and_draws_parallel_coordinates(
    page: Page, api: Api, server: ServerProcess
) -> None:
    _, ids = await seed_sweep(api, "sweep-compare", runs=6)
    await page.goto(f"{server.base_url}/compare?runs={','.join(ids)}&metric=acc")
    await expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(
        6, timeout=TIMEOUT_MS
    )
    parallel = page.get_by_test_id("parallel-coords")
    await expect(parallel).to_be_visible()
    await page.wait_for_timeout(200)
    assert await coloured_pixels(parallel) > 200
    chart = page.locator('[data-testid="metric-chart"][data-key="loss"] canvas')
    await expect(chart).to_be_visible(timeout=TIMEOUT_MS)
    await page.wait_for_timeout(300)
    assert await coloured_pixels(chart) > 200

    await page.get_by_role("button", name="Remove run-00").click()
    await expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(5)
    assert ids[0] not in query(page)["runs"][0]


async def test_a_logged_point_appears_on_the_run_page_within_2_s(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("live-run")
    run_id = await api.run(experiment_id, "live")
    await api.log(run_id, "loss", list(range(10)), [1.0] * 10)
    await page.goto(f"{server.base_url}/runs/{run_id}")
    chart = page.locator('[data-testid="metric-chart"][data-key="loss"]')
    await expect(chart).to_have_attribute("data-points", "10", timeout=TIMEOUT_MS)
    await live_or_skip(page)
    await page.wait_for_timeout(300)  # the subscription is acknowledged right after opening

    started = time.monotonic()
    await api.log(run_id, "loss", [10], [0.5])
    await expect(chart).to_have_attribute("data-points", "11", timeout=2_000)
    # A key logged for the first time gets its chart.
    await api.log(run_id, "new_key", [0, 1], [1.0, 2.0])
    await expect(page.locator('[data-testid="metric-chart"][data-key="new_key"]')).to_be_visible(
        timeout=2_000
    )
    await api.finish(run_id)
    await expect(page.get_by_text("FINISHED").first).to_be_visible(timeout=2_000)
    assert time.monotonic() - started < 6


async def test_new_runs_and_status_changes_appear_in_the_table(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("live-table")
    first = await api.run(experiment_id, "first")
    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    await expect(page.get_by_test_id("runs-footer")).to_contain_text(
        "1 runs loaded", timeout=TIMEOUT_MS
    )
    await live_or_skip(page)
    await page.wait_for_timeout(300)
    second = await api.run(experiment_id, "second")
    await expect(page.locator(f'[data-run-id="{second}"]')).to_be_visible(timeout=2_000)
    await api.finish(first, "FAILED")
    await expect(page.locator(f'[data-run-id="{first}"]')).to_contain_text("FAILED", timeout=2_000)
    await api.log(second, "acc", [1], [0.75])
    await expect(page.locator(f'[data-run-id="{second}"]')).to_contain_text("0.75", timeout=2_000)
