"""Chart panels on the run page and in compare (headless Chromium against a real server):
a key's chart is hidden, a chart of two keys is added and names both in its legend, the
layout is in the URL and comes back on reload, and moving a chart fetches nothing again;
the console stays free of errors."""

from playwright.async_api import Locator, Page, Request, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess
from tests.e2e.test_dashboard_editing import console_errors, query

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear

TIMEOUT_MS = 10_000
# Keys with characters a panel list must carry through the URL (the server refuses "," and
# ";" in a key; the Vitest of the codec covers them).
LOSS = "train/loss"
VAL = "val.loss smoothed"
ACC = "acc"


async def log_keys(api: Api, experiment: str, names: list[str]) -> list[str]:
    experiment_id = await api.experiment(experiment)
    ids = []
    steps = list(range(30))
    for i, name in enumerate(names):
        run_id = await api.run(experiment_id, name, {"seed": str(i)})
        await api.log(run_id, LOSS, steps, [3.0 / (s + 1) + i for s in steps])
        await api.log(run_id, VAL, steps, [3.5 / (s + 1) + i for s in steps])
        await api.log(run_id, ACC, steps, [s / 30 for s in steps])
        await api.finish(run_id)
        ids.append(run_id)
    return ids


def chart(page: Page, keys: str) -> Locator:
    return page.locator(f'[data-testid="metric-chart"][data-key="{keys}"]')


async def panel_order(page: Page) -> list[str]:
    """The chooser's list of charts (read whether or not the chooser is open)."""
    listing = page.get_by_role("list", name="Charts in order", include_hidden=True)
    return [text.strip() for text in await listing.locator("li .mono").all_text_contents()]


async def choose_panels(page: Page) -> None:
    """Hides acc's chart and adds one chart of the two losses."""
    await page.get_by_test_id("panel-chooser").locator("summary").click()
    await page.get_by_label(f"Own chart for {ACC}").uncheck()
    await page.get_by_label("Keys for a new chart").select_option([LOSS, VAL])
    await page.get_by_role("button", name="Add chart").click()


async def legend_of(page: Page, keys: str) -> Locator:
    card = chart(page, keys)
    await card.scroll_into_view_if_needed()
    await expect(card.locator("canvas")).to_have_count(1, timeout=TIMEOUT_MS)
    return card.locator(".u-legend")


async def moving_fetches_nothing(page: Page, both: str) -> None:
    histories: list[str] = []

    def remember(request: Request) -> None:
        if "format=columns" in request.url:
            histories.append(request.url)

    page.on("request", remember)
    await page.get_by_role("button", name=f"Move chart {both} up").click()
    await expect(chart(page, both)).to_have_count(1)
    await page.wait_for_timeout(500)
    page.remove_listener("request", remember)
    assert histories == [], histories


async def test_run_page_panels_hide_add_and_survive_a_reload(
    page: Page, api: Api, server: ServerProcess
) -> None:
    (run_id,) = await log_keys(api, "panels-run", ["panel-run"])
    await page.goto(f"{server.base_url}/runs/{run_id}")
    await expect(page.locator(".charts > div")).to_have_count(3, timeout=TIMEOUT_MS)
    assert "panels" not in query(page)  # the default: one chart per key

    await choose_panels(page)
    both = f"{LOSS} + {VAL}"
    assert query(page)["panels"] == [f"{LOSS};{VAL};{LOSS},{VAL}"]
    await expect(chart(page, ACC)).to_have_count(0)
    legend = await legend_of(page, both)
    await expect(legend).to_contain_text(LOSS)
    await expect(legend).to_contain_text(VAL)
    await moving_fetches_nothing(page, both)
    layout = [LOSS, both, VAL]
    assert await panel_order(page) == layout

    await page.reload()
    await expect(page.locator(".charts > div")).to_have_count(3, timeout=TIMEOUT_MS)
    assert await panel_order(page) == layout
    await expect(chart(page, ACC)).to_have_count(0)
    legend = await legend_of(page, both)
    await expect(legend).to_contain_text(VAL)


async def test_compare_panels_name_run_and_key_and_survive_a_reload(
    page: Page, api: Api, server: ServerProcess
) -> None:
    ids = await log_keys(api, "panels-compare", ["cmp-a", "cmp-b"])
    await page.goto(f"{server.base_url}/compare?runs={','.join(ids)}")
    await expect(page.get_by_test_id("compare-legend")).to_contain_text("cmp-b", timeout=TIMEOUT_MS)
    await expect(page.locator(".charts > div")).to_have_count(3, timeout=TIMEOUT_MS)

    await choose_panels(page)
    both = f"{LOSS} + {VAL}"
    await expect(chart(page, ACC)).to_have_count(0)
    legend = await legend_of(page, both)
    for name in ("cmp-a", "cmp-b"):
        for key in (LOSS, VAL):
            await expect(legend).to_contain_text(f"{name} · {key}")
    await moving_fetches_nothing(page, both)
    layout = [LOSS, both, VAL]
    assert await panel_order(page) == layout

    # Grouped, the legend names each group with the key.
    await page.get_by_label("Group by").select_option("params.seed")
    await expect(legend).to_contain_text(f"seed=1 · {VAL}", timeout=TIMEOUT_MS)

    await page.reload()
    await expect(page.get_by_test_id("compare-legend")).to_contain_text("cmp-b", timeout=TIMEOUT_MS)
    assert await panel_order(page) == layout
    await expect(chart(page, ACC)).to_have_count(0)
    legend = await legend_of(page, both)
    await expect(legend).to_contain_text(f"seed=0 · {LOSS}")
