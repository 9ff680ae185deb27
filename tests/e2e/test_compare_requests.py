"""The compare page's requests (headless Chromium against a real server): grouped charts on
the step axis come from one `POST /api/v1/runs/compare` per chart, with no history request
per run, and the runs of one experiment from one run plus one search (a run of another
experiment by its own request); a run that logs only some keys counts in those charts."""

from typing import Any

from playwright.async_api import Page, Request, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess
from tests.e2e.test_compare_analysis import log_sweep
from tests.e2e.test_dashboard_editing import console_errors

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear

TIMEOUT_MS = 10_000


async def test_grouped_compare_asks_once_per_chart(
    page: Page, api: Api, server: ServerProcess
) -> None:
    ids = await log_sweep(api)
    # Another experiment's run, lr 0.1, logging the loss only.
    other = await api.run(await api.experiment("compare-other"), "loss-only", {"lr": "0.1"})
    await api.log(other, "loss", [0, 20, 40], [3.0, 1.0, 0.5])
    await api.finish(other)
    ids.append(other)
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r) if "/api/v1/" in r.url else None)
    await page.goto(f"{server.base_url}/compare?runs={','.join(ids)}&group=params.lr")
    legend = page.get_by_test_id("group-legend")
    await expect(legend.locator('[data-group="0.1"]')).to_have_text(
        "lr=0.1 (3 runs)", timeout=TIMEOUT_MS
    )
    cards = page.locator(".charts > div")
    await expect(cards).to_have_count(3, timeout=TIMEOUT_MS)  # acc, epoch, loss
    for i in range(3):
        await cards.nth(i).scroll_into_view_if_needed()
    loss = page.locator('[data-testid="metric-chart"][data-key="loss"]')
    await expect(loss).to_have_attribute("data-runs", "5", timeout=TIMEOUT_MS)
    await expect(loss.locator(".u-legend")).to_contain_text("lr=0.1 (3 runs)")
    await expect(loss.locator(".u-legend")).to_contain_text("lr=0.01 max")
    acc = page.locator('[data-testid="metric-chart"][data-key="acc"]')
    await expect(acc).to_have_attribute("data-runs", "4", timeout=TIMEOUT_MS)
    await expect(acc.locator(".u-legend")).to_contain_text("lr=0.1 (2 runs)")

    compares = [r for r in seen if r.method == "POST" and r.url.endswith("/api/v1/runs/compare")]
    bodies: list[Any] = [r.post_data_json for r in compares]
    assert sorted(body["key"] for body in bodies) == ["acc", "epoch", "loss"]
    for body in bodies:
        assert sorted(g["name"] for g in body["groups"]) == ["0.01", "0.1"]
    assert [r.url for r in seen if "/metrics/" in r.url] == []
    runs = [r for r in seen if "/api/v1/runs/" in r.url and r.method == "GET"]
    searches = [r for r in seen if r.url.endswith("/api/v1/runs/search")]
    assert sorted(r.url.rsplit("/", 1)[1] for r in runs) == sorted([ids[0], other])
    assert len(searches) == 1

    # A metric x axis is joined in the browser, from the runs' histories.
    await page.get_by_label("x axis").select_option("metric:epoch")
    await expect(loss.get_by_test_id("chart-summary")).to_contain_text(
        "x: epoch", timeout=TIMEOUT_MS
    )
    # The loss-only run has no epoch: 4 runs, joined here.
    await expect(loss).to_have_attribute("data-runs", "4", timeout=TIMEOUT_MS)
    assert any("/metrics/loss" in r.url for r in seen)
