"""The runs table scrolled in Chromium against a real server: while it scrolls, the pooled
row elements keep their places in the DOM (no element is moved, see `inSlotOrder` in
dashboard/src/features/runs/rowPool.ts) yet each shows the run of its row number; once it
stops, the rows are in screen order again."""

from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess

# Autouse there and here: any console.error fails the test.
from tests.e2e.test_dashboard_editing import console_errors  # noqa: F401

TIMEOUT_MS = 10_000
RUNS = 120
ROW_PX = 34

# Scrolls `rows` rows, `perFrame` a frame, and returns the rows as they were at each frame
# (each in DOM order), the last taken two frames after the last step.
SCROLL_JS = """
async ({ rows, perFrame, rowPx }) => {
  const el = document.querySelector('[data-testid="runs-scroll"]');
  const target = el.scrollTop + rows * rowPx;
  const samples = [];
  await new Promise((resolve) => {
    const step = () => {
      samples.push(ROWS());
      el.scrollTop = Math.min(target, el.scrollTop + perFrame * rowPx);
      if (el.scrollTop >= target) resolve();
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  samples.push(ROWS());
  return samples;
}
"""

ROWS_JS = """
() => [...document.querySelectorAll('[data-testid="runs-scroll"] [data-run-id]')].map((row) => ({
  y: new DOMMatrix(getComputedStyle(row).transform).m42,
  rowIndex: Number(row.getAttribute("aria-rowindex")),
  name: row.querySelector(".run-name a").textContent,
}))
"""


def expected_name(row_index: int) -> str:
    """The run at an aria-rowindex: newest first, the header being row 1."""
    return f"run-{RUNS - 1 - (row_index - 2):03d}"


def assert_rows_show_their_runs(rows: list[dict[str, Any]]) -> None:
    assert len(rows) > 10, rows
    for row in rows:
        assert row["y"] == (row["rowIndex"] - 2) * ROW_PX, row
        assert row["name"] == expected_name(row["rowIndex"]), row


async def test_scrolled_rows_show_their_runs_and_are_in_screen_order_once_scrolling_stops(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("scrolled table")
    for i in range(RUNS):
        await api.run(experiment_id, f"run-{i:03d}")
    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    await expect(page.get_by_test_id("runs-footer")).to_contain_text(
        f"{RUNS} runs loaded", timeout=TIMEOUT_MS
    )
    grid = page.get_by_role("table", name="Runs")
    await expect(grid).to_have_attribute("aria-rowcount", str(RUNS + 1))

    samples: list[list[dict[str, Any]]] = await page.evaluate(
        SCROLL_JS.replace("ROWS()", f"({ROWS_JS})()"), {"rows": 50, "perFrame": 5, "rowPx": ROW_PX}
    )
    for during in samples:
        assert_rows_show_their_runs(during)
    # Rows scrolled in took the slots (and DOM places) of rows scrolled out.
    assert any([r["y"] for r in rows] != sorted(r["y"] for r in rows) for rows in samples)

    rows: list[dict[str, Any]] = []
    for _ in range(50):
        await page.wait_for_timeout(100)
        rows = await page.evaluate(ROWS_JS)
        if [r["y"] for r in rows] == sorted(r["y"] for r in rows):
            break
    assert [r["y"] for r in rows] == sorted(r["y"] for r in rows), rows
    assert_rows_show_their_runs(rows)
    assert rows[0]["rowIndex"] <= 52 <= rows[-1]["rowIndex"]
