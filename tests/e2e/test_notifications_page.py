"""The notifications page in Chromium: a rule made through the form sends its test message and
a real delivery to a webhook receiver on loopback; a server that may not send to loopback
shows its refusal next to the form. The console must stay free of errors.

This module's `server` replaces conftest's: it may send to http:// and loopback targets, which
only this module needs. `strict_server` keeps the defaults that refuse them.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess
from tests.e2e.test_dashboard_editing import console_errors
from tests.notifications.receivers import HttpReceiver, http_receiver

__all__ = ["console_errors"]  # the editing tests' autouse fixture: no console error may appear

TIMEOUT_MS = 10_000
REFUSED = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
ALLOW_LOOPBACK = {
    "TRACKBOARD_NOTIFY_ALLOW_HTTP": "true",
    "TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
    "TRACKBOARD_NOTIFY_SEND_TIMEOUT_S": "3",
}
SECRET = "e2e-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("trackboard-notify")
    process = ServerProcess(home, home / "server.log", ALLOW_LOOPBACK)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("trackboard-notify-strict")
    process = ServerProcess(home, home / "server.log")
    yield process
    process.stop()


def signed_bodies(receiver: HttpReceiver) -> list[dict[str, Any]]:
    """Every body the receiver got, after checking its signature with the rule's secret."""
    bodies = []
    for request in receiver.requests:
        expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["Trackboard-Signature"] == f"sha256={expected}"
        bodies.append(json.loads(request.body))
    return bodies


def rule_card(page: Page, name: str) -> Locator:
    return page.get_by_role("article", name=f"Rule {name}")


async def open_notifications(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/")
    await page.get_by_role("navigation").get_by_role("link", name="Notifications").click()
    await expect(page).to_have_url(re.compile(r"/notifications$"))
    await expect(page.get_by_role("heading", name="Notifications")).to_be_visible(
        timeout=TIMEOUT_MS
    )


async def test_a_rule_made_in_the_page_tests_delivers_toggles_and_deletes(
    page: Page, api: Api, server: ServerProcess
) -> None:
    watched = await api.experiment("notify-watched")
    await api.experiment("notify-other")
    async with http_receiver() as receiver:
        await open_notifications(page, server.base_url)
        await expect(page.get_by_text("No rules yet.")).to_be_visible(timeout=TIMEOUT_MS)

        await page.get_by_label("Name", exact=True).fill("runs end")
        experiments = page.get_by_label("Experiments")
        await expect(experiments.get_by_role("option", name="notify-watched")).to_be_attached(
            timeout=TIMEOUT_MS
        )
        await experiments.select_option(label="notify-watched")
        await page.get_by_label("Run finished").check()
        await page.get_by_role("button", name="+ Threshold").click()
        await page.get_by_label("Threshold 1 metric key").fill("loss")
        await page.get_by_label("Threshold 1 comparison").select_option(">=")
        await page.get_by_label("Threshold 1 value").fill("5")
        await page.get_by_label("Threshold 1 after step").fill("10")
        await page.get_by_role("button", name="+ NaN check").click()
        await page.get_by_label("Webhook URL", exact=True).fill(receiver.url + "/hook")
        await page.get_by_label("Webhook secret").fill(SECRET)
        await page.get_by_role("button", name="Create rule").click()

        card = rule_card(page, "runs end")
        await expect(card).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.get_by_test_id("rule-form-error")).to_have_count(0)
        await expect(card.get_by_test_id("rule-triggers")).to_have_text(
            "run finished; loss >= 5 after step 10; NaN or ∞ in any metric"
        )
        await expect(card.get_by_test_id("rule-channels")).to_have_text(
            f"webhook {receiver.url}/hook (signed)"
        )
        await expect(card.get_by_test_id("rule-experiments")).to_have_text("notify-watched")
        await expect(card.get_by_label("Enabled")).to_be_checked()
        # The form is empty again for the next rule.
        await expect(page.get_by_label("Name", exact=True)).to_have_value("")
        (rule,) = (await api.client.get("/notification-rules")).json()["rules"]
        assert rule["experiment_ids"] == [watched]

        await card.get_by_role("button", name="Send test").click()
        results = card.get_by_test_id("test-results")
        await expect(results).to_contain_text("✓ ok", timeout=TIMEOUT_MS)
        await expect(results).to_contain_text(f"webhook {receiver.url}/hook")
        (test_message,) = signed_bodies(receiver)
        assert test_message["type"] == "test"
        assert test_message["rule"] == {"id": rule["id"], "name": "runs end"}

        # Off and on again, through PATCH; the server agrees each time.
        enabled = card.get_by_label("Enabled")
        for on in (False, True):
            await enabled.set_checked(on)
            await expect(enabled).to_be_enabled(timeout=TIMEOUT_MS)  # the PATCH has settled
            await expect(enabled).to_be_checked(checked=on)
            stored = (await api.client.get(f"/notification-rules/{rule['id']}")).json()
            assert stored["enabled"] is on

        await card.get_by_role("button", name="Deliveries").click()
        await expect(card.get_by_text("No deliveries yet")).to_be_visible(timeout=TIMEOUT_MS)
        run_id = await api.run(watched, "finisher")
        await api.finish(run_id)
        delivery = card.get_by_test_id("deliveries").locator("tbody tr")
        await expect(delivery).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(delivery).to_have_attribute("data-status", "sent", timeout=TIMEOUT_MS)
        await expect(delivery).to_contain_text("run.finished")
        await expect(delivery).to_contain_text("webhook")
        ended = signed_bodies(receiver)[-1]
        assert ended["type"] == "run.finished"
        assert ended["run_id"] == run_id

    await card.get_by_role("button", name="Delete", exact=True).click()
    confirm = card.get_by_role("group", name="Confirm deletion")
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await card.get_by_role("button", name="Delete", exact=True).click()
    await confirm.get_by_role("button", name="Delete rule").click()
    await expect(card).to_have_count(0, timeout=TIMEOUT_MS)
    await expect(page.get_by_text("No rules yet.")).to_be_visible()
    assert (await api.client.get("/notification-rules")).json()["rules"] == []


async def test_the_form_shows_what_to_fix_and_the_servers_refusal_of_loopback(
    page: Page, strict_server: ServerProcess, console_errors: list[str]
) -> None:
    await open_notifications(page, strict_server.base_url)
    error = page.get_by_test_id("rule-form-error")
    create = page.get_by_role("button", name="Create rule")

    # Checked in the page before anything is sent.
    await create.click()
    await expect(error).to_have_text("Enter a name for the rule.")
    await page.get_by_label("Name", exact=True).fill("to loopback")
    await create.click()
    await expect(error).to_have_text("Choose at least one trigger.")
    await page.get_by_label("Run failed").check()

    # The server's own message, as its API gives it, for each refused URL.
    async with httpx.AsyncClient(base_url=strict_server.base_url) as client:
        for url, expected in [
            ("http://127.0.0.1/", "https://"),
            ("https://127.0.0.1/", "resolves to 127.0.0.1, a loopback address"),
        ]:
            body = {
                "name": "to loopback",
                "triggers": [{"type": "run.failed"}],
                "channels": [{"type": "webhook", "url": url}],
            }
            answer = await client.post("/api/v1/notification-rules", json=body)
            assert answer.status_code == 400, answer.text
            message = answer.json()["error"]["message"]
            assert expected in message

            await page.get_by_label("Webhook URL", exact=True).fill(url)
            await create.click()
            await expect(error).to_have_text(message, timeout=TIMEOUT_MS)
        assert (await client.get("/api/v1/notification-rules")).json()["rules"] == []
    await expect(page.get_by_text("No rules yet.")).to_be_visible()
    # Chromium logs each refused request as a console error: those two, and nothing else.
    assert console_errors == [REFUSED] * 2
    console_errors.clear()
