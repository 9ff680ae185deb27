"""Editing in the dashboard (headless Chromium against a real server): rename runs and
experiments, tags, Markdown notes that never run a script, delete/restore with undo (single
and bulk), the run diff, nested runs and MLflow system tags. Each change is checked through
the API, and the console must stay free of errors."""

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.api import Api
from tests.e2e.servers import ServerProcess

TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
async def console_errors(page: Page) -> AsyncIterator[list[str]]:
    """Every `console.error` the page writes; a test fails if there is any."""
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    yield errors
    assert not errors, f"console errors: {errors}"


async def get_run(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/runs/{run_id}")
    response.raise_for_status()
    run: dict[str, Any] = response.json()
    return run


async def run_with_tags(api: Api, experiment_id: int, name: str, tags: dict[str, str]) -> str:
    response = await api.client.post(
        f"/experiments/{experiment_id}/runs", json={"name": name, "tags": tags}
    )
    response.raise_for_status()
    run_id: str = response.json()["id"]
    return run_id


async def run_tag(api: Api, run_id: str, key: str) -> str | None:
    value = (await get_run(api, run_id))["tags"].get(key)
    return None if value is None else str(value)


async def run_stage(api: Api, run_id: str) -> str:
    return str((await get_run(api, run_id))["lifecycle_stage"])


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Polls an async predicate about the API until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the API never showed the change")
        await asyncio.sleep(0.1)


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


async def test_renaming_a_run_and_renaming_and_deleting_an_experiment_reach_the_api(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("rename-me")
    run_id = await api.run(experiment_id, "old-name")

    await page.goto(f"{server.base_url}/runs/{run_id}")
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_label("New run name").fill("new-name")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("title-text")).to_have_text("new-name", timeout=TIMEOUT_MS)

    async def renamed() -> bool:
        return bool((await get_run(api, run_id))["name"] == "new-name")

    await eventually(renamed)

    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_label("New experiment name").fill("renamed-experiment")
    await page.get_by_label("New experiment name").press("Enter")
    await expect(page.get_by_test_id("title-text")).to_have_text(
        "renamed-experiment", timeout=TIMEOUT_MS
    )

    async def experiment_renamed() -> bool:
        response = await api.client.get(f"/experiments/{experiment_id}")
        return bool(response.json()["name"] == "renamed-experiment")

    await eventually(experiment_renamed)

    async def experiment_stage_is(stage: str) -> bool:
        response = await api.client.get(f"/experiments/{experiment_id}")
        return bool(response.json()["lifecycle_stage"] == stage)

    await page.get_by_role("button", name="Delete experiment").click()
    toast = page.get_by_test_id("toast")
    await expect(toast).to_contain_text("Deleted experiment renamed-experiment", timeout=TIMEOUT_MS)
    await eventually(lambda: experiment_stage_is("deleted"))
    await toast.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("button", name="Delete experiment")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    await eventually(lambda: experiment_stage_is("active"))


async def test_tags_are_added_edited_and_removed_through_the_api(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("tags-edit")
    run_id = await run_with_tags(api, experiment_id, "tagged", {"mlflow.user": "ada"})

    await page.goto(f"{server.base_url}/runs/{run_id}")
    tags = page.get_by_test_id("tags-table")
    await page.get_by_label("New tag key").fill("team")
    await page.get_by_label("New tag value").fill("vision")
    await page.get_by_role("button", name="Add tag").click()
    await expect(tags).to_contain_text("vision", timeout=TIMEOUT_MS)

    async def tag_is(value: str | None) -> bool:
        return await run_tag(api, run_id, "team") == value

    await eventually(lambda: tag_is("vision"))

    await page.get_by_role("button", name="Edit tag team").click()
    await page.get_by_label("Value of tag team").fill("nlp")
    await page.get_by_label("Value of tag team").press("Enter")
    await expect(tags).to_contain_text("nlp", timeout=TIMEOUT_MS)
    await eventually(lambda: tag_is("nlp"))

    await page.get_by_role("button", name="Remove tag team").click()
    await expect(tags).not_to_contain_text("team", timeout=TIMEOUT_MS)
    await eventually(lambda: tag_is(None))
    # The MLflow user tag is a system tag: shown apart, read-only, and used as the user.
    await expect(page.get_by_test_id("system-table")).to_contain_text("mlflow.user")
    await expect(page.get_by_role("button", name="Edit tag mlflow.user")).to_have_count(0)


async def test_notes_with_a_script_are_rendered_without_running_it(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("notes")
    run_id = await api.run(experiment_id, "noted")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    await page.goto(f"{server.base_url}/runs/{run_id}")
    await page.get_by_role("button", name="Add notes").click()
    note = (
        "# Findings\n\n**lr 0.01** works best.\n\n"
        "<script>window.__pwned = 1; alert('x')</script>\n\n"
        '<img src="x" onerror="window.__pwned = 2">'
    )
    await page.get_by_label("Run notes (Markdown)").fill(note)
    await page.get_by_role("button", name="Save notes").click()
    body = page.get_by_test_id("notes-body")
    await expect(body.get_by_role("heading", name="Findings")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(body.locator("strong")).to_have_text("lr 0.01")
    # The HTML is shown as text, not inserted as elements.
    await expect(body).to_contain_text("<script>")
    assert await body.locator("script, img").count() == 0

    async def stored() -> bool:
        return await run_tag(api, run_id, "mlflow.note.content") == note

    await eventually(stored)
    # A fresh load renders the stored note the same way.
    await page.reload()
    await expect(body.get_by_role("heading", name="Findings")).to_be_visible(timeout=TIMEOUT_MS)
    assert await body.locator("script, img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert dialogs == []


async def test_deleting_a_run_then_undo_restores_it(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("delete-undo")
    run_id = await api.run(experiment_id, "doomed")

    await page.goto(f"{server.base_url}/runs/{run_id}")
    await page.get_by_role("button", name="Delete run").click()
    toast = page.get_by_test_id("toast")
    await expect(toast).to_contain_text("Deleted run doomed", timeout=TIMEOUT_MS)
    await expect(page.get_by_role("button", name="Restore run")).to_be_visible()

    async def stage_is(stage: str) -> bool:
        return await run_stage(api, run_id) == stage

    await eventually(lambda: stage_is("deleted"))
    await toast.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("button", name="Delete run")).to_be_visible(timeout=TIMEOUT_MS)
    await eventually(lambda: stage_is("active"))


async def test_bulk_delete_from_the_runs_table_and_restore_from_the_deleted_list(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("bulk-delete")
    ids = [await api.run(experiment_id, f"bulk-{i}") for i in range(4)]

    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    footer = page.get_by_test_id("runs-footer")
    await expect(footer).to_contain_text("4 runs loaded", timeout=TIMEOUT_MS)
    await page.get_by_label("Select run bulk-1").check()
    await page.get_by_label("Select run bulk-2").check()
    await page.get_by_role("button", name="Delete (2)").click()
    await expect(page.get_by_test_id("toast")).to_contain_text("Deleted 2 runs", timeout=TIMEOUT_MS)
    await expect(footer).to_contain_text("2 runs loaded", timeout=TIMEOUT_MS)

    async def stages() -> list[str]:
        return [await run_stage(api, i) for i in ids]

    async def deleted_middle() -> bool:
        return await stages() == ["active", "deleted", "deleted", "active"]

    await eventually(deleted_middle)

    # The deleted list offers them back (the undo has been dismissed to test this path).
    await page.get_by_role("button", name="Close").first.click()
    await page.get_by_label("deleted runs").check()
    assert query(page)["stage"] == ["deleted"]
    await expect(footer).to_contain_text("2 deleted runs loaded", timeout=TIMEOUT_MS)
    await page.get_by_label("Select run bulk-1").check()
    await page.get_by_role("button", name="Restore (1)").click()

    async def restored_one() -> bool:
        return await stages() == ["active", "active", "deleted", "active"]

    await eventually(restored_one)
    await expect(footer).to_contain_text("1 deleted runs loaded", timeout=TIMEOUT_MS)


async def test_run_diff_shows_only_differences(page: Page, api: Api, server: ServerProcess) -> None:
    experiment_id = await api.experiment("diff")
    a = await api.run(experiment_id, "diff-a", {"lr": "0.1", "bs": "32"})
    b = await api.run(experiment_id, "diff-b", {"lr": "0.01", "bs": "32"})
    await api.log(a, "acc", [0, 1], [0.5, 0.9])
    await api.log(b, "acc", [0, 1], [0.5, 0.8])

    await page.goto(f"{server.base_url}/compare?runs={a},{b}")
    diff = page.get_by_test_id("run-diff")
    await expect(diff.locator('tr[data-key="params.bs"]')).to_have_attribute(
        "data-differs", "false", timeout=TIMEOUT_MS
    )
    await expect(diff.locator('tr[data-key="params.lr"]')).to_have_attribute("data-differs", "true")
    await expect(diff.locator('tr[data-key="metrics.acc"]')).to_have_attribute(
        "data-differs", "true"
    )

    await diff.get_by_label("only differences").check()
    assert query(page)["diff"] == ["only"]
    await expect(diff.locator('tr[data-key="params.bs"]')).to_have_count(0)
    await expect(diff.locator('tr[data-key="params.lr"]')).to_contain_text("0.01")
    # The link reproduces the view; every chart has a legend naming the runs.
    await page.reload()
    await expect(diff.get_by_label("only differences")).to_be_checked(timeout=TIMEOUT_MS)
    await expect(diff.locator('tr[data-key="params.bs"]')).to_have_count(0)
    # Charts are drawn once scrolled near.
    await page.get_by_role("heading", name="Metrics").scroll_into_view_if_needed()
    legend = page.locator('[data-testid="metric-chart"][data-key="acc"] .u-legend')
    await expect(legend).to_contain_text("diff-a", timeout=TIMEOUT_MS)
    await expect(legend).to_contain_text("diff-b")
    # The parallel coordinates' legend: the table under them, in the same run colours.
    await expect(page.get_by_test_id("compare-table")).to_contain_text("diff-b")


async def test_nested_runs_show_as_a_tree_and_on_the_parent_run_page(
    page: Page, api: Api, server: ServerProcess
) -> None:
    experiment_id = await api.experiment("nested")
    parent = await run_with_tags(
        api,
        experiment_id,
        "sweep",
        {"mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL"},
    )
    children = [
        await run_with_tags(api, experiment_id, f"trial-{i}", {"mlflow.parentRunId": parent})
        for i in range(3)
    ]
    await api.run(experiment_id, "standalone")

    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    rows = page.locator(".grid-row.body")
    await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)
    toggle = page.get_by_role("button", name="Show 3 nested runs of sweep")
    await toggle.click()
    await expect(rows).to_have_count(5, timeout=TIMEOUT_MS)
    assert query(page)["open"] == [parent]
    # The children come right after their parent.
    order = [str(await rows.nth(i).get_attribute("data-run-id")) for i in range(5)]
    at = order.index(parent)
    assert sorted(order[at + 1 : at + 4]) == sorted(children)
    await page.get_by_role("button", name="Hide 3 nested runs of sweep").click()
    await expect(rows).to_have_count(2, timeout=TIMEOUT_MS)

    await page.goto(f"{server.base_url}/runs/{parent}")
    nested = page.get_by_test_id("nested-runs")
    await expect(nested.get_by_role("link")).to_have_count(3, timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("run-source")).to_contain_text("LOCAL train.py")
    await nested.get_by_role("link", name="trial-0").click()
    await expect(page.get_by_test_id("parent-link")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("system-table")).to_contain_text("mlflow.parentRunId")
    await page.get_by_test_id("parent-link").click()
    await expect(page).to_have_url(re.compile(f"/runs/{parent}$"))
