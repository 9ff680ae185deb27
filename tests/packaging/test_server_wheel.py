"""The wheel with `[server]` serves the dashboard on its own: installed into a clean virtual
environment (the runtime lock as constraints), `trackboard server` from that environment
answers, and Chromium renders the experiments list from the assets inside the wheel."""

import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server
from tests.packaging.wheels import SERVER_LOCK, STATIC_INDEX, install, isolated_environment, missing

CHROMIUM = Path(os.environ.get("TRACKBOARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv holding the wheel with its server extra, pinned by the runtime lock."""
    if not STATIC_INDEX.is_file():
        missing("the dashboard is not built, so the wheel would lack it: make dashboard")
    with zipfile.ZipFile(wheel) as archive:
        assert "trackboard/server/dashboard/static/index.html" in archive.namelist()
    env_dir = tmp_path_factory.mktemp("server-venv")
    install(env_dir, "-c", str(SERVER_LOCK), f"trackboard[server] @ {wheel.as_uri()}")
    return env_dir


@pytest.fixture
def wheel_server(server_venv: Path, tmp_path: Path) -> Iterator[str]:
    """`trackboard server` of the clean venv, without the source tree on its path."""
    with live_server(
        tmp_path / "home",
        {"TRACKBOARD_LOG_LEVEL": "WARNING"},
        command=[str(server_venv / "bin" / "trackboard")],
        base_env=isolated_environment(),
    ) as url:
        yield url


@pytest.fixture
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    return CHROMIUM


def test_the_server_wheel_runs_from_its_own_environment(server_venv: Path) -> None:
    code = "import trackboard; print(trackboard.__file__)"
    where = subprocess.run(
        [str(server_venv / "bin" / "python"), "-c", code],
        env=isolated_environment(),
        cwd=server_venv,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(server_venv)), where


async def test_the_server_wheel_serves_a_dashboard_that_renders(
    wheel_server: str, chromium: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    async with httpx.AsyncClient(base_url=wheel_server) as api:
        created = await api.post("/api/v1/experiments", json={"name": "from-the-wheel"})
    assert created.status_code == 201, created.text
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            await page.goto(f"{wheel_server}/")
            table = page.get_by_test_id("experiments-table")
            await expect(table.get_by_role("link", name="from-the-wheel")).to_be_visible(
                timeout=TIMEOUT_MS
            )
        finally:
            await browser.close()
    assert not errors, f"the page reported errors: {errors}"
