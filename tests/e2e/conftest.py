"""Browser tests: Debian's Chromium driven by Playwright against real server processes.

No browser is ever downloaded: Chromium comes from `apt-get install chromium`. Without it
(or without a built dashboard) the tests skip with the reason, except under CI=true, where
a missing piece fails them.
"""

import importlib.util
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.api import Api
from tests.e2e.servers import REPO, ServerProcess

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

if importlib.util.find_spec("playwright") is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("the playwright Python package is required for tests/e2e")
    # Developers without it still run the rest of the suite.
    collect_ignore_glob = ["test_*.py"]

CHROMIUM = Path(os.environ.get("TRACKBOARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATIC_INDEX = REPO / "src/trackboard/server/dashboard/static/index.html"
ARTIFACTS = REPO / "test-artifacts" / "e2e"


def missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    if not STATIC_INDEX.is_file():
        missing("the dashboard is not built: make dashboard (npm ci && npm run build)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: Path) -> AsyncIterator["Browser"]:
    # The async API: it shares pytest-asyncio's loop, so the rest of the suite's async
    # tests still run in the same session (the sync API would hold a loop in this thread).
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("trackboard-home")
    process = ServerProcess(home, home / "server.log")
    yield process
    process.stop()


@pytest.fixture
async def api(server: ServerProcess) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=30) as client:
        yield Api(client)


@pytest.fixture(params=["light", "dark"])
def color_scheme(request: pytest.FixtureRequest) -> str:
    scheme: str = request.param
    return scheme


@pytest.fixture
async def page(browser: "Browser", request: pytest.FixtureRequest) -> AsyncIterator["Page"]:
    """A fresh page; its screenshot goes to test-artifacts/e2e/ whatever the outcome."""
    scheme = "light"
    if "color_scheme" in request.fixturenames:
        scheme = request.getfixturevalue("color_scheme")
    context = await browser.new_context(
        viewport={"width": 1280, "height": 860},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    try:
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        await context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
