"""The dashboard in headless Chromium against a real server: every page, filter, sort,
selection, compare, charts drawn, chart options in the URL, live updates."""

import math
import re
import time
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Request, expect

from tests.e2e.api import Api
from tests.e2e.live import live_or_skip
from tests.e2e.pixels import coloured_pixels
from tests.e2e.servers import ServerProcess

TIMEOUT_MS = 10_000


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def seed_sweep(api: Api, name: str, runs: int = 30) -> tuple[int, list[str]]:
    """Runs whose final acc is i/runs, lr alternating, each with a loss and acc history."""
    experiment_id = api.experiment(name)
    ids = []
    for i in range(runs):
        run_id = api.run(
            experiment_id,
            f"run-{i:02d}",
            {"lr": ["0.1", "0.01", "0.001"][i % 3], "optimizer": ["adam", "sgd"][i % 2]},
        )
        steps = list(range(50))
        final = i / runs
        api.log(run_id, "acc", steps, [final * (s + 1) / 50 for s in steps])
        api.log(run_id, "loss", steps, [2.0 * math.exp(-s / 10) + (1 - final) for s in steps])
        ids.append(run_id)
    return experiment_id, ids


def test_experiments_page_lists_searches_and_counts_runs(
    page: Page, api: Api, server: ServerProcess, color_scheme: str
) -> None:
    mnist = api.experiment(f"mnist-{color_scheme}")
    api.experiment(f"cifar-{color_scheme}")
    for i in range(3):
        api.run(mnist, f"r{i}")

    page.goto(server.base_url + "/")
    table = page.get_by_test_id("experiments-table")
    expect(table.get_by_role("link", name=f"mnist-{color_scheme}")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(table.get_by_role("link", name=f"cifar-{color_scheme}")).to_be_visible()
    row = table.locator(f'tr[data-experiment-id="{mnist}"]')
    expect(row.get_by_test_id("run-count")).to_contain_text("3", timeout=TIMEOUT_MS)

    page.get_by_label("Search experiments by name").fill(f"cifar-{color_scheme}")
    expect(table.get_by_role("link", name=f"mnist-{color_scheme}")).to_have_count(
        0, timeout=TIMEOUT_MS
    )
    expect(table.get_by_role("link", name=f"cifar-{color_scheme}")).to_be_visible()
    assert query(page)["q"] == [f"cifar-{color_scheme}"]

    table.get_by_role("link", name=f"cifar-{color_scheme}").click()
    expect(page).to_have_url(re.compile(r"/experiments/\d+$"))


def test_runs_table_filters_sorts_selects_and_opens_compare(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id, ids = seed_sweep(api, "sweep-table")
    page.goto(f"{server.base_url}/experiments/{experiment_id}")
    footer = page.get_by_test_id("runs-footer")
    expect(footer).to_contain_text("30 runs loaded", timeout=TIMEOUT_MS)

    # A filter the server rejects: its 400 message is shown under the box.
    box = page.get_by_label("Filter runs")
    box.fill("metrics.acc >> 1")
    box.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    assert "acc" in alert.inner_text()
    expect(box).to_have_attribute("aria-invalid", "true")

    box.fill("metrics.acc > 0.5 and params.optimizer = 'adam'")
    box.press("Enter")
    expect(page.get_by_role("alert")).to_have_count(0, timeout=TIMEOUT_MS)
    # acc = i/30 > 0.5 for i in 16..29, adam for even i: 16, 18, …, 28.
    expect(footer).to_contain_text("7 runs loaded", timeout=TIMEOUT_MS)
    assert query(page)["filter"] == ["metrics.acc > 0.5 and params.optimizer = 'adam'"]

    header = page.locator('[data-column="metrics.acc"]')
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending", timeout=TIMEOUT_MS)
    assert query(page)["order"] == ["metrics.acc"]
    first = page.locator(".grid-row.body").first
    expect(first).to_have_attribute("data-run-id", ids[16], timeout=TIMEOUT_MS)
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.locator(".grid-row.body").first).to_have_attribute(
        "data-run-id", ids[28], timeout=TIMEOUT_MS
    )

    page.get_by_label("Select run run-28").check()
    page.get_by_label("Select run run-26").check()
    assert query(page)["sel"] == [f"{ids[28]},{ids[26]}"]

    # The URL alone reproduces the view.
    page.reload()
    expect(page.locator('[data-column="metrics.acc"]')).to_have_attribute(
        "aria-sort", "descending", timeout=TIMEOUT_MS
    )
    expect(page.get_by_label("Filter runs")).to_have_value(
        "metrics.acc > 0.5 and params.optimizer = 'adam'"
    )
    expect(page.get_by_label("Select run run-26")).to_be_checked()

    page.get_by_role("button", name="Compare (2)").click()
    expect(page).to_have_url(re.compile(r"/compare\?runs="))
    assert query(page)["runs"] == [f"{ids[28]},{ids[26]}"]
    expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(
        2, timeout=TIMEOUT_MS
    )


def test_column_choice_is_kept_in_the_url(page: Page, api: Api, server: ServerProcess) -> None:
    experiment_id, _ = seed_sweep(api, "sweep-columns", runs=3)
    page.goto(f"{server.base_url}/experiments/{experiment_id}")
    expect(page.locator('[data-column="metrics.loss"]')).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name=re.compile(r"^Columns")).click()
    page.get_by_role("dialog", name="Choose columns").get_by_label("loss").uncheck()
    expect(page.locator('[data-column="metrics.loss"]')).to_have_count(0)
    assert "metrics.loss" not in query(page)["col"]
    assert "metrics.acc" in query(page)["col"]


def test_run_page_draws_each_metric_and_zooms_at_finer_resolution(
    page: Page, api: Api, server: ServerProcess, color_scheme: str
) -> None:
    experiment_id = api.experiment(f"run-page-{color_scheme}")
    run_id = api.run(experiment_id, "bright-fox", {"lr": "0.01", "layers": "4"})
    steps = list(range(5_000))
    loss = [1 / (1 + s / 100) for s in steps]
    loss[2_500] = math.nan  # a gap, not a crash
    api.log(run_id, "loss", steps, loss)
    api.log(run_id, "acc", steps, [1 - v if not math.isnan(v) else 0.5 for v in loss])
    api.finish(run_id)

    history_requests: list[str] = []

    def remember(request: Request) -> None:
        if "/metrics/" in request.url:
            history_requests.append(request.url)

    page.on("request", remember)
    page.goto(f"{server.base_url}/runs/{run_id}")
    expect(page.get_by_role("heading", name=re.compile("bright-fox"))).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(page.get_by_text("FINISHED").first).to_be_visible()
    expect(page.get_by_test_id("params-table")).to_contain_text("layers")
    charts = page.get_by_test_id("metric-chart")
    expect(charts).to_have_count(2, timeout=TIMEOUT_MS)
    for key in ("acc", "loss"):
        canvas = page.locator(f'[data-testid="metric-chart"][data-key="{key}"] canvas')
        expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
        assert coloured_pixels(canvas) > 200, f"{key}: nothing drawn"
    assert all("format=columns" in u and "max_points=" in u for u in history_requests)

    # Chart options live in the URL.
    page.get_by_label("log scale").check()
    page.get_by_label("x axis").select_option("time")
    assert query(page)["log"] == ["1"]
    assert query(page)["x"] == ["time"]
    page.get_by_label("x axis").select_option("step")
    page.get_by_label("smoothing").fill("0.8")
    assert query(page)["smooth"] == ["0.8"]

    # Drag across the middle of the loss chart: a narrower, finer request follows.
    history_requests.clear()
    over = page.locator('[data-testid="metric-chart"][data-key="loss"] .u-over')
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"zoom=\d+\.\.\d+"), timeout=TIMEOUT_MS)
    lo, hi = (int(v) for v in query(page)["zoom"][0].split(".."))
    assert 1_000 < lo < hi < 3_500
    deadline = time.monotonic() + 5
    while not any("start_step=" in u for u in history_requests) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any(f"start_step={lo}" in u and f"end_step={hi}" in u for u in history_requests)
    canvas = page.locator('[data-testid="metric-chart"][data-key="loss"] canvas')
    page.wait_for_timeout(300)
    assert coloured_pixels(canvas) > 200

    page.get_by_role("button", name=re.compile("Reset zoom")).click()
    assert "zoom" not in query(page)


def test_compare_overlays_runs_and_draws_parallel_coordinates(
    page: Page, api: Api, server: ServerProcess
) -> None:
    _, ids = seed_sweep(api, "sweep-compare", runs=6)
    page.goto(f"{server.base_url}/compare?runs={','.join(ids)}&metric=acc")
    expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(
        6, timeout=TIMEOUT_MS
    )
    parallel = page.get_by_test_id("parallel-coords")
    expect(parallel).to_be_visible()
    page.wait_for_timeout(200)
    assert coloured_pixels(parallel) > 200
    chart = page.locator('[data-testid="metric-chart"][data-key="loss"] canvas')
    expect(chart).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)
    assert coloured_pixels(chart) > 200

    page.get_by_role("button", name="Remove run-00").click()
    expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(5)
    assert ids[0] not in query(page)["runs"][0]


def test_a_logged_point_appears_on_the_run_page_within_2_s(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = api.experiment("live-run")
    run_id = api.run(experiment_id, "live")
    api.log(run_id, "loss", list(range(10)), [1.0] * 10)
    page.goto(f"{server.base_url}/runs/{run_id}")
    chart = page.locator('[data-testid="metric-chart"][data-key="loss"]')
    expect(chart).to_have_attribute("data-points", "10", timeout=TIMEOUT_MS)
    live_or_skip(page)
    page.wait_for_timeout(300)  # the subscription is acknowledged right after opening

    started = time.monotonic()
    api.log(run_id, "loss", [10], [0.5])
    expect(chart).to_have_attribute("data-points", "11", timeout=2_000)
    # A key logged for the first time gets its chart.
    api.log(run_id, "new_key", [0, 1], [1.0, 2.0])
    expect(page.locator('[data-testid="metric-chart"][data-key="new_key"]')).to_be_visible(
        timeout=2_000
    )
    api.finish(run_id)
    expect(page.get_by_text("FINISHED").first).to_be_visible(timeout=2_000)
    assert time.monotonic() - started < 6


def test_new_runs_and_status_changes_appear_in_the_table(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = api.experiment("live-table")
    first = api.run(experiment_id, "first")
    page.goto(f"{server.base_url}/experiments/{experiment_id}")
    expect(page.get_by_test_id("runs-footer")).to_contain_text("1 runs loaded", timeout=TIMEOUT_MS)
    live_or_skip(page)
    page.wait_for_timeout(300)
    second = api.run(experiment_id, "second")
    expect(page.locator(f'[data-run-id="{second}"]')).to_be_visible(timeout=2_000)
    api.finish(first, "FAILED")
    expect(page.locator(f'[data-run-id="{first}"]')).to_contain_text("FAILED", timeout=2_000)
    api.log(second, "acc", [1], [0.75])
    expect(page.locator(f'[data-run-id="{second}"]')).to_contain_text("0.75", timeout=2_000)
