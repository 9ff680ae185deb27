"""The runs table grouped in Chromium against a real server: Group by a param inserts a
header row before each group (the server's count, compare's colour), the filter changes the
counts, a header collapses its group, and Compare draws the same groups in the same colours."""

from playwright.async_api import Locator, Page, expect

from tests.e2e.api import Api
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.servers import ServerProcess

# Autouse there and here: any console.error fails the test.
from tests.e2e.test_dashboard_editing import console_errors  # noqa: F401

TIMEOUT_MS = 10_000
# (name, optimizer or None, final acc): three groups, one of runs without the param.
RUNS = [
    ("run-a1", "adam", 0.9),
    ("run-s1", "sgd", 0.8),
    ("run-a2", "adam", 0.7),
    ("run-n1", None, 0.6),
    ("run-s2", "sgd", 0.5),
    ("run-a3", "adam", 0.4),
]


def header(page: Page, name: str) -> Locator:
    return page.get_by_role("table", name="Runs").locator(f'.group-row[data-group="{name}"]')


async def swatch_colour(swatch: Locator) -> str:
    colour: str = await swatch.evaluate("e => getComputedStyle(e).backgroundColor")
    return colour


async def test_runs_table_groups_collapses_and_matches_compare(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("runs-grouping")
    for name, optimizer, acc in RUNS:
        run_id = await api.run(experiment_id, name, {"optimizer": optimizer} if optimizer else {})
        await api.log(run_id, "acc", [0, 1], [0.1, acc])

    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    grid = page.get_by_role("table", name="Runs")
    rows = grid.locator("[data-run-id]")
    await expect(rows).to_have_count(6, timeout=TIMEOUT_MS)
    await expect(grid.locator(".group-row")).to_have_count(0)

    await page.get_by_label("Group by").select_option("params.optimizer")
    headers = grid.locator(".group-row")
    await expect(headers).to_have_count(3, timeout=TIMEOUT_MS)
    # Sorted by the param (runs without it last); each header carries the server's count.
    assert await headers.evaluate_all("hs => hs.map(h => h.dataset.group)") == [
        "adam",
        "sgd",
        "(none)",
    ]
    await expect(header(page, "adam")).to_contain_text("params.optimizer=adam (3 runs)")
    await expect(header(page, "sgd")).to_contain_text("params.optimizer=sgd (2 runs)")
    await expect(header(page, "(none)")).to_contain_text("params.optimizer=(none) (1 run)")
    # A header comes right before its group's first row.
    order = await grid.locator(".group-row, [data-run-id]").evaluate_all(
        "es => es.sort((a, b) => new DOMMatrix(getComputedStyle(a).transform).m42"
        " - new DOMMatrix(getComputedStyle(b).transform).m42)"
        ".map(e => e.dataset.group ? '#' + e.dataset.group"
        " : e.textContent.match(/run-[a-z][0-9]/)[0])"
    )
    members: dict[str, set[str]] = {}
    for item in order:
        if item.startswith("#"):
            group = members.setdefault(item[1:], set())
        else:
            group.add(item)
    assert order[0] == "#adam", order
    assert members == {
        "adam": {"run-a1", "run-a2", "run-a3"},
        "sgd": {"run-s1", "run-s2"},
        "(none)": {"run-n1"},
    }, order

    # The counts follow the filter.
    await page.get_by_label("Filter runs").fill("metrics.acc > 0.55")
    await page.get_by_label("Filter runs").press("Enter")
    await expect(rows).to_have_count(4, timeout=TIMEOUT_MS)
    await expect(header(page, "adam")).to_contain_text("(2 runs)", timeout=TIMEOUT_MS)
    await expect(header(page, "sgd")).to_contain_text("(1 run)")
    await page.get_by_label("Filter runs").fill("")
    await page.get_by_label("Filter runs").press("Enter")
    await expect(rows).to_have_count(6, timeout=TIMEOUT_MS)
    await expect(header(page, "adam")).to_contain_text("(3 runs)", timeout=TIMEOUT_MS)

    # Select every run for Compare, then collapse sgd: its rows go, its header stays.
    for name, _, _ in RUNS:
        await page.get_by_role("checkbox", name=f"Select run {name}").check()
    collapse = page.get_by_role("button", name="Collapse group params.optimizer=sgd")
    await collapse.click()
    await expect(rows).to_have_count(4)
    await expect(grid.locator('[data-run-id]:has-text("run-s1")')).to_have_count(0)
    expand = page.get_by_role("button", name="Expand group params.optimizer=sgd")
    await expect(expand).to_have_attribute("aria-expanded", "false")
    await expect(header(page, "sgd")).to_contain_text("(2 runs)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "runs_table_grouped.png"))
    table_colours = {
        name: await swatch_colour(header(page, name).locator(".swatch"))
        for name in ("adam", "sgd", "(none)")
    }
    await expand.click()
    await expect(rows).to_have_count(6)

    await page.get_by_role("button", name="Compare (6)").click()
    await page.wait_for_url("**/compare?**")
    legend = page.get_by_test_id("group-legend")
    for name, count in (("adam", 3), ("sgd", 2), ("(none)", 1)):
        group = legend.locator(f'[data-group="{name}"]')
        await expect(group).to_contain_text(
            f"optimizer={name} ({count} {'run' if count == 1 else 'runs'})", timeout=TIMEOUT_MS
        )
        assert await swatch_colour(group.locator(".swatch")) == table_colours[name], name
    await page.screenshot(path=str(ARTIFACTS / "runs_table_grouped_compare.png"), full_page=True)
