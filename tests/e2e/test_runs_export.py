"""The runs table's Export CSV and column layout, in Chromium against a real server: the
downloaded file holds the runs the filter matches, in the view's order, with the visible
columns in their order, equal to the API's rows; hiding and pinning columns show in the
table and stay in the URL. (That an export holds more runs than a page is tested on the
API, tests/api/test_export.py.)"""

import csv
import io
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.async_api import Page, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess

# Autouse there and here: any console.error fails the test.
from tests.e2e.test_dashboard_editing import console_errors  # noqa: F401

TIMEOUT_MS = 10_000


async def all_runs(api: Api, body: dict[str, object]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    token = None
    while True:
        page = (await api.client.post("/runs/search", json={**body, "page_token": token})).json()
        found += page["runs"]
        token = page["next_page_token"]
        if token is None:
            return found


async def test_export_csv_holds_the_filtered_runs_of_the_view_and_columns_hide_and_pin(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("export-view")
    for i in range(12):
        run_id = await api.run(experiment_id, f"run-{i:02}", {"lr": str(i / 100), "seed": "7"})
        await api.log(run_id, "acc", [0, 1], [0.1, i / 12])

    filter_text = "params.seed = '7' AND metrics.acc >= 0.4"
    view = urlencode({"filter": filter_text, "order": "-metrics.acc"})
    await page.goto(f"{server.base_url}/experiments/{experiment_id}?{view}")
    grid = page.get_by_role("table", name="Runs")
    await expect(grid.locator("[data-run-id]")).to_have_count(7, timeout=TIMEOUT_MS)

    # Hide the Status column and pin the metric through the column chooser.
    await page.get_by_role("button", name="Columns").click()
    chooser = page.get_by_role("dialog", name="Choose columns")
    await chooser.get_by_role("checkbox", name="Status", exact=True).uncheck()
    await chooser.get_by_role("button", name="Pin metrics.acc").click()
    await page.keyboard.press("Escape")
    await page.mouse.click(5, 5)
    headers = grid.get_by_role("columnheader")
    await expect(grid.locator('[data-column="attributes.status"]')).to_have_count(0)
    await expect(grid.locator('[data-column="metrics.acc"]')).to_have_attribute(
        "data-pinned", "true"
    )
    # The pinned column comes first after the selection box.
    assert await headers.nth(1).get_attribute("data-column") == "metrics.acc"
    query = parse_qs(urlsplit(page.url).query)
    assert query["hide"] == ["attributes.status"]
    assert query["pin"] == ["metrics.acc"]

    # A fresh load of the link shows the same layout.
    await page.reload()
    await expect(grid.locator('[data-column="metrics.acc"]')).to_have_attribute(
        "data-pinned", "true", timeout=TIMEOUT_MS
    )

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await download_info.value
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))

    api_runs = await all_runs(
        api,
        {
            "experiment_ids": [experiment_id],
            "filter": filter_text,
            "order_by": ["metrics.acc DESC"],
        },
    )
    assert [row["id"] for row in rows] == [run["id"] for run in api_runs]
    # The table's columns, Status hidden and the pinned metric first (Duration is the
    # start and end times).
    assert list(rows[0]) == [
        "id",
        "metrics.acc",
        "name",
        "start_time",
        "end_time",
        "user",
        "params.lr",
        "params.seed",
    ]
    for row, run in zip(rows, api_runs, strict=True):
        metrics = run["metrics"]
        assert isinstance(metrics, dict)
        assert float(row["metrics.acc"]) == metrics["acc"]["value"]
        assert row["name"] == run["name"]
