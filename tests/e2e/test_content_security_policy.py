"""The dashboard under its Content-Security-Policy in Chromium: every page renders and draws,
the live socket opens, login works with auth on, and the browser reports no violation."""

import subprocess
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.api import Api
from tests.e2e.pixels import coloured_pixels
from tests.e2e.servers import TRACKBOARD, ServerProcess, environment

TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery"
# Init scripts run outside the page's policy; they record what the policy blocked.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""


class PolicyWatch:
    """Violations the page reports: Chromium's console messages and the DOM events."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self.on_console)

    def on_console(self, message: object) -> None:
        text = str(getattr(message, "text", ""))
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    async def start(self) -> None:
        await self.page.add_init_script(RECORD_VIOLATIONS)

    async def violations(self) -> list[str]:
        recorded: list[str] = await self.page.evaluate("window.__cspViolations ?? []")
        return self.console + recorded


async def open_page(page: Page, url: str) -> None:
    response = await page.goto(url)
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_every_page_renders_under_the_policy_without_violations(
    page: Page, api: Api, server: ServerProcess
) -> None:
    watch = PolicyWatch(page)
    await watch.start()
    experiment_id = await api.experiment("csp-pages")
    runs = [await api.run(experiment_id, f"csp-{i}", {"lr": str(0.1 * (i + 1))}) for i in range(2)]
    for i, run_id in enumerate(runs):
        steps = list(range(100))
        await api.log(run_id, "acc", steps, [(i + 1) * s / 200 for s in steps])

    await open_page(page, server.base_url + "/")
    table = page.get_by_test_id("experiments-table")
    await expect(table.get_by_role("link", name="csp-pages")).to_be_visible(timeout=TIMEOUT_MS)

    await open_page(page, f"{server.base_url}/experiments/{experiment_id}")
    await expect(page.get_by_test_id("runs-footer")).to_contain_text(
        "2 runs loaded", timeout=TIMEOUT_MS
    )
    # The live socket (ws: on the page's own host) is allowed by connect-src 'self'.
    status = page.get_by_test_id("live-status")
    await expect(status).to_have_attribute("data-status", "open", timeout=TIMEOUT_MS)

    await open_page(page, f"{server.base_url}/runs/{runs[0]}")
    canvas = page.locator('[data-testid="metric-chart"][data-key="acc"] canvas')
    await expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
    await page.wait_for_timeout(300)
    assert await coloured_pixels(canvas) > 200

    await open_page(page, f"{server.base_url}/compare?runs={','.join(runs)}&metric=acc")
    await expect(page.get_by_test_id("compare-legend").get_by_role("link")).to_have_count(
        2, timeout=TIMEOUT_MS
    )
    parallel = page.get_by_test_id("parallel-coords")
    await expect(parallel).to_be_visible()
    await page.wait_for_timeout(300)
    assert await coloured_pixels(parallel) > 200

    assert await watch.violations() == []


async def test_the_policy_blocks_an_injected_inline_script(
    page: Page, server: ServerProcess
) -> None:
    watch = PolicyWatch(page)
    await watch.start()
    await open_page(page, server.base_url + "/")
    await expect(page.get_by_test_id("experiments-page")).to_be_visible(timeout=TIMEOUT_MS)
    await page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
        }"""
    )
    await page.wait_for_timeout(200)
    assert await page.evaluate("window.__injected === undefined")
    assert any("script-src" in v for v in await watch.violations())


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("trackboard-auth-home")
    env = {"TRACKBOARD_AUTH": "on"}
    process = ServerProcess(home, home / "server.log", env)
    try:
        subprocess.run(
            [str(TRACKBOARD), "users", "create", "alice", "--admin", "--password-stdin"],
            input=(PASSWORD + "\n").encode(),
            env=environment(home, env),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield process
    finally:
        process.stop()


async def test_login_works_under_the_policy_with_auth_on(
    page: Page, auth_server: ServerProcess
) -> None:
    watch = PolicyWatch(page)
    await watch.start()
    await open_page(page, auth_server.base_url + "/")
    form = page.get_by_role("form", name="Sign in")
    await expect(form).to_be_visible(timeout=TIMEOUT_MS)
    await form.get_by_label("Username").fill("alice")
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("experiments-table")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(form).to_have_count(0)
    assert await watch.violations() == []


def auth_server_key(server: ServerProcess) -> str:
    """An editor key of a new project, made with the CLI as an operator would."""
    created = subprocess.run(
        [str(TRACKBOARD), "keys", "create", "--project", "csrf", "--role", "editor"],
        env=environment(server.home, {"TRACKBOARD_AUTH": "on"}),
        check=True,
        capture_output=True,
        timeout=60,
    )
    return created.stdout.decode().strip()


async def test_a_signed_in_session_loads_the_runs_table_with_auth_on(
    page: Page, auth_server: ServerProcess
) -> None:
    """The runs table is a POST search: the session's CSRF token must ride along."""
    key = auth_server_key(auth_server)
    headers = {"Authorization": f"Bearer {key}"}
    base = auth_server.base_url + "/api/v1"
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        api = Api(http)
        experiment_id = await api.experiment("csrf-runs")
        for i in range(2):
            await api.run(experiment_id, f"csrf-{i}")
    await open_page(page, auth_server.base_url + "/")
    form = page.get_by_role("form", name="Sign in")
    await form.get_by_label("Username").fill("alice")
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("experiments-table")).to_be_visible(timeout=TIMEOUT_MS)
    await page.goto(f"{auth_server.base_url}/experiments/{experiment_id}")
    await expect(page.get_by_test_id("runs-footer")).to_contain_text(
        "2 runs loaded", timeout=TIMEOUT_MS
    )
