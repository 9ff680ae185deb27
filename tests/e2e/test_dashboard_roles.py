"""Editing with auth on (headless Chromium against a real server): a viewer sees no editing
controls, judged by the role in the run's own project; an edit the server refuses (403) is
rolled back and its message shown."""

import re
import subprocess
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests.e2e.api import Api
from tests.e2e.servers import TRACKBOARD, ServerProcess, environment

TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery"
AUTH = {"TRACKBOARD_AUTH": "on"}
# Chromium logs every 401/403 answer; with auth on these are expected (before signing in,
# and the refused edit this module provokes). Anything else fails the test.
EXPECTED_REFUSAL = re.compile(r"^Failed to load resource: .*status of 40[13]")


def cli(server: ServerProcess, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(TRACKBOARD), *args],
        input=None if stdin is None else stdin.encode(),
        env=environment(server.home, AUTH),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return done.stdout.decode().strip()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """The server, users carol and bob, and an owner key of the project "shared". Each CLI
    call loads the server code (seconds on a busy machine), so the rest goes through the API."""
    home = tmp_path_factory.mktemp("trackboard-roles-home")
    process = ServerProcess(home, home / "server.log", AUTH)
    try:
        key = cli(process, "keys", "create", "--project", "shared", "--role", "owner")
        for user in ("carol", "bob"):
            cli(process, "users", "create", user, "--password-stdin", stdin=PASSWORD + "\n")
        # bob edits his own project; in "shared" he only views (set below).
        cli(process, "users", "grant", "bob", "--project", "bobs", "--role", "editor")
        yield process, key
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def shared_run(auth_server: tuple[ServerProcess, str]) -> tuple[int, str]:
    """A run in "shared", where carol and bob are viewers."""
    server, key = auth_server
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1", headers=headers, timeout=30
    ) as http:
        projects = (await http.get("/projects")).raise_for_status().json()["projects"]
        shared = next(p["id"] for p in projects if p["name"] == "shared")
        for user in ("carol", "bob"):
            member = await http.put(f"/projects/{shared}/members/{user}", json={"role": "viewer"})
            member.raise_for_status()
        api = Api(http)
        experiment_id = await api.experiment("shared-experiment")
        run_id = await api.run(experiment_id, "shared-run")
    return experiment_id, run_id


@pytest.fixture(autouse=True)
async def console_errors(page: Page) -> AsyncIterator[list[str]]:
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" and not EXPECTED_REFUSAL.match(message.text):
            errors.append(message.text)

    page.on("console", record)
    yield errors
    assert not errors, f"console errors: {errors}"


async def sign_in(page: Page, server: ServerProcess, user: str) -> None:
    await page.goto(server.base_url + "/")
    form = page.get_by_role("form", name="Sign in")
    await form.get_by_label("Username").fill(user)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("experiments-table")).to_be_visible(timeout=TIMEOUT_MS)


async def test_a_viewer_sees_no_editing_controls(
    page: Page, auth_server: tuple[ServerProcess, str], shared_run: tuple[int, str]
) -> None:
    server, _ = auth_server
    experiment_id, run_id = shared_run
    await sign_in(page, server, "carol")
    await page.goto(f"{server.base_url}/runs/{run_id}")
    await expect(page.get_by_test_id("title-text")).to_have_text("shared-run", timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("run-notes")).to_be_visible()
    for name in ("Rename", "Delete run", "Add tag", "Add notes"):
        await expect(page.get_by_role("button", name=name)).to_have_count(0)
    await page.goto(f"{server.base_url}/experiments/{experiment_id}")
    await expect(page.get_by_test_id("runs-footer")).to_contain_text(
        "1 runs loaded", timeout=TIMEOUT_MS
    )
    await expect(page.get_by_role("button", name=re.compile(r"^Delete"))).to_have_count(0)


async def set_role(server: ServerProcess, key: str, user: str, role: str) -> None:
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as http:
        projects = (await http.get("/projects")).raise_for_status().json()["projects"]
        shared = next(p["id"] for p in projects if p["name"] == "shared")
        member = await http.put(f"/projects/{shared}/members/{user}", json={"role": role})
        member.raise_for_status()


async def test_controls_follow_the_role_in_the_runs_own_project_and_a_refusal_rolls_back(
    page: Page, auth_server: tuple[ServerProcess, str], shared_run: tuple[int, str]
) -> None:
    """bob edits his own project but only views "shared": no controls on its run. Made an
    editor there, he gets them; demoted while the page is open, his rename is refused by
    the server, rolled back, and the server's message shown."""
    server, key = auth_server
    _, run_id = shared_run
    await sign_in(page, server, "bob")
    await page.goto(f"{server.base_url}/runs/{run_id}")
    title = page.get_by_test_id("title-text")
    await expect(title).to_have_text("shared-run", timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("run-notes")).to_be_visible()
    await expect(page.get_by_role("button", name="Rename")).to_have_count(0)
    try:
        await set_role(server, key, "bob", "editor")
        await page.reload()
        await expect(title).to_have_text("shared-run", timeout=TIMEOUT_MS)
        await expect(page.get_by_role("button", name="Rename")).to_be_visible()
        # The page keeps the identity it loaded; the server decides with the current role.
        await set_role(server, key, "bob", "viewer")
        await page.get_by_role("button", name="Rename").click()
        await page.get_by_label("New run name").fill("hijacked")
        await page.get_by_label("New run name").press("Enter")
        error = page.get_by_role("alert").filter(has_text="Rename failed")
        await expect(error).to_be_visible(timeout=TIMEOUT_MS)
        await expect(title).to_have_text("shared-run")
        await page.reload()
        await expect(title).to_have_text("shared-run", timeout=TIMEOUT_MS)
    finally:
        await set_role(server, key, "bob", "viewer")


async def test_a_viewer_opens_a_saved_view_by_link_but_cannot_change_it(
    page: Page, auth_server: tuple[ServerProcess, str], shared_run: tuple[int, str]
) -> None:
    server, key = auth_server
    experiment_id, _ = shared_run
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as http:
        created = await http.post(
            f"/experiments/{experiment_id}/views",
            json={"name": "team view", "state": {"filter": "attributes.run_name = 'shared-run'"}},
        )
        created.raise_for_status()
        view_id = created.json()["id"]
    await sign_in(page, server, "carol")
    await page.goto(f"{server.base_url}/experiments/{experiment_id}?view={view_id}")
    await expect(page.get_by_label("Filter runs")).to_have_value(
        "attributes.run_name = 'shared-run'", timeout=TIMEOUT_MS
    )
    await page.get_by_test_id("views-button").click()
    panel = page.get_by_role("dialog", name="Saved views")
    await expect(panel.get_by_role("button", name="team view")).to_be_visible()
    await expect(panel.get_by_text("Only editors save views.")).to_be_visible()
    for name in ("Save", "Update", "Rename", "Delete"):
        await expect(panel.get_by_role("button", name=name, exact=True)).to_have_count(0)
