"""Waiting for the page's live connection."""

import pytest
from playwright.async_api import Page, expect


async def live_or_skip(page: Page) -> None:
    """Until app.py serves /api/v1/ws the page polls; the live tests then say so and skip."""
    status = page.get_by_test_id("live-status")
    try:
        await expect(status).to_have_attribute("data-status", "open", timeout=5_000)
    except AssertionError:
        pytest.skip("the live WebSocket /api/v1/ws is not served by this app (docs/dashboard.md)")
    # The server acknowledges a subscription right after the socket opens.
    await page.wait_for_timeout(300)
