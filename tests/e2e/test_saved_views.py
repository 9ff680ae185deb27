"""Saved views in Chromium against a real server: set a filter, a sort, columns (one hidden,
one pinned), a grouping and chart panels on the runs page, save them as a view, open the
view's link in a fresh browser context and see the same page; then update, rename and delete
the view, each change checked through the API. Compare opens with the view's grouping and
panels."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Browser, Page, expect

from tests.e2e.api import Api
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.servers import ServerProcess

# Autouse there and here: any console.error fails the test.
from tests.e2e.test_dashboard_editing import console_errors, eventually  # noqa: F401

TIMEOUT_MS = 10_000


async def saved_views(api: Api, experiment_id: int) -> list[dict[str, Any]]:
    response = await api.client.get(f"/experiments/{experiment_id}/views")
    response.raise_for_status()
    views: list[dict[str, Any]] = response.json()["views"]
    return views


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def shows_the_view(page: Page) -> None:
    """The state set below: 4 runs (acc > 0.15) grouped by optimizer, best acc first in each
    group, lr pinned, Status hidden."""
    grid = page.get_by_role("table", name="Runs")
    rows = grid.locator("[data-run-id]")
    await expect(rows).to_have_count(4, timeout=TIMEOUT_MS)
    # Grouped by optimizer first: adam (runs 2 and 4), best acc first within it.
    await expect(rows.first).to_contain_text("run-4")
    await expect(grid.locator('[data-column="attributes.status"]')).to_have_count(0)
    await expect(grid.locator('[data-column="params.lr"]')).to_have_attribute("data-pinned", "true")
    await expect(grid.locator('[data-column="metrics.acc"]')).to_have_attribute(
        "aria-sort", "descending"
    )
    await expect(page.get_by_label("Group by")).to_have_value("params.optimizer")


async def test_a_saved_view_opens_from_its_link_in_a_fresh_browser_and_is_edited_and_deleted(
    page: Page, browser: Browser, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("saved-views")
    for i in range(6):
        run_id = await api.run(
            experiment_id, f"run-{i}", {"lr": str(i / 100), "optimizer": ["adam", "sgd"][i % 2]}
        )
        await api.log(run_id, "acc", [0, 1], [0.1, i / 10])
        await api.log(run_id, "loss", [0, 1], [1.0, 1 - i / 10])

    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    grid = page.get_by_role("table", name="Runs")
    await expect(grid.locator("[data-run-id]")).to_have_count(6, timeout=TIMEOUT_MS)

    # Filter, sort by acc (twice: descending), hide Status, pin lr, group by optimizer.
    await page.get_by_label("Filter runs").fill("metrics.acc > 0.15")
    await page.get_by_label("Filter runs").press("Enter")
    await expect(grid.locator("[data-run-id]")).to_have_count(4, timeout=TIMEOUT_MS)
    acc = grid.locator('[data-column="metrics.acc"]')
    await acc.click()
    await expect(acc).to_have_attribute("aria-sort", "ascending")
    await acc.click()
    await page.get_by_role("button", name="Columns").click()
    chooser = page.get_by_role("dialog", name="Choose columns")
    await chooser.get_by_role("checkbox", name="Status", exact=True).uncheck()
    await chooser.get_by_role("button", name="Pin params.lr").click()
    await page.mouse.click(5, 5)
    await page.get_by_label("Group by").select_option("params.optimizer")
    await shows_the_view(page)
    # Charts: acc on its own, then acc and loss together (loss's own chart removed).
    charts = page.get_by_test_id("panel-chooser")
    await charts.locator("summary").click()
    await charts.get_by_label("Own chart for loss").uncheck()
    await charts.get_by_label("Keys for a new chart").select_option(["acc", "loss"])
    await charts.get_by_role("button", name="Add chart").click()
    await expect(charts.locator("summary")).to_have_text("Charts (2)")
    await charts.locator("summary").click()
    assert query(page.url)["panels"] == ["acc;acc,loss"]

    await page.get_by_test_id("views-button").click()
    panel = page.get_by_role("dialog", name="Saved views")
    await panel.get_by_label("New view name").fill("best lr")
    await panel.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_test_id("views-button")).to_contain_text("View: best lr")
    views = await saved_views(api, experiment_id)
    assert [v["name"] for v in views] == ["best lr"]
    state = views[0]["state"]
    assert state["filter"] == "metrics.acc > 0.15"
    assert state["sort"] == {"column": "metrics.acc", "desc": True}
    assert state["hidden"] == ["attributes.status"]
    assert state["pinned"] == ["params.lr"]
    assert state["group"] == "params.optimizer"
    assert state["panels"] == [["acc"], ["acc", "loss"]]
    view_id = views[0]["id"]
    link = await panel.get_by_label("Link to best lr").input_value()
    assert link == f"{server.base_url}/experiments/{experiment_id}?view={view_id}"
    await page.mouse.click(5, 5)
    await expect(panel).to_have_count(0)

    # The link in a browser that has never seen the page (no history, no storage).
    fresh = await browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        other = await fresh.new_page()
        errors: list[str] = []
        other.on("pageerror", lambda exc: errors.append(str(exc)))
        other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await other.goto(link)
        await shows_the_view(other)
        await expect(other.get_by_test_id("views-button")).to_contain_text("View: best lr")
        assert query(other.url)["view"] == [str(view_id)]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await other.get_by_test_id("views-button").click()
        await other.screenshot(path=str(ARTIFACTS / "saved_view_opened_by_link.png"))
        await other.mouse.click(5, 5)
        # Compare opens with the view's grouping.
        await other.get_by_role("checkbox", name="Select run run-5").check()
        await other.get_by_role("checkbox", name="Select run run-4").check()
        await other.get_by_role("button", name="Compare (2)").click()
        await other.wait_for_url("**/compare?**")
        assert query(other.url)["group"] == ["params.optimizer"]
        assert query(other.url)["panels"] == ["acc;acc,loss"]
        cards = other.locator(".charts > div")
        await expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
        await cards.nth(1).scroll_into_view_if_needed()
        for key in ("acc", "acc + loss"):
            drawn = other.locator(f'[data-testid="metric-chart"][data-key="{key}"]')
            await expect(drawn).to_have_count(1, timeout=TIMEOUT_MS)
        legend = other.get_by_test_id("group-legend")
        await expect(legend.locator('[data-group="sgd"]')).to_contain_text(
            "optimizer=sgd", timeout=TIMEOUT_MS
        )
        await expect(legend.locator('[data-group="adam"]')).to_contain_text("optimizer=adam")
        await other.screenshot(path=str(ARTIFACTS / "saved_view_compare.png"), full_page=True)
        assert errors == []
    finally:
        await fresh.close()

    # Change the filter: the view is marked modified; Update stores the new state.
    await page.get_by_label("Filter runs").fill("metrics.acc > 0.35")
    await page.get_by_label("Filter runs").press("Enter")
    await expect(grid.locator("[data-run-id]")).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("views-button")).to_contain_text("(modified)")
    await page.get_by_test_id("views-button").click()
    row = panel.locator(f'[data-view-id="{view_id}"]')
    await row.get_by_role("button", name="Update").click()
    await expect(page.get_by_test_id("views-button")).not_to_contain_text("(modified)")

    async def updated() -> bool:
        views = await saved_views(api, experiment_id)
        return bool(views[0]["state"]["filter"] == "metrics.acc > 0.35")

    await eventually(updated)

    await row.get_by_role("button", name="Rename").click()
    await row.get_by_label("New name for best lr").fill("top two")
    await row.get_by_role("button", name="Save name").click()

    async def renamed() -> bool:
        return [v["name"] for v in await saved_views(api, experiment_id)] == ["top two"]

    await eventually(renamed)
    await expect(page.get_by_test_id("views-button")).to_contain_text("View: top two")

    await row.get_by_role("button", name="Delete").click()

    async def deleted() -> bool:
        return await saved_views(api, experiment_id) == []

    await eventually(deleted)
    await expect(page.get_by_test_id("views-button")).to_have_text("Views")
    assert "view" not in query(page.url)
    # The page keeps showing the state the view had.
    assert query(page.url)["filter"] == ["metrics.acc > 0.35"]
