"""The dashboard says when it shows cached data: PostgreSQL is cut (through a TCP proxy)
after a run page was read, and the page reloaded answers from the cache under a banner."""

from typing import TYPE_CHECKING

from tests.databases import PostgresDatabases
from tests.distributed.conftest import with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import running_app
from tests.live_server import serving
from trackboard.server.config import Settings

if TYPE_CHECKING:
    from playwright.async_api import Browser


async def test_a_banner_says_the_data_is_cached_while_the_database_is_away(
    browser: "Browser", postgres_databases: PostgresDatabases
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        async with postgres_databases.database() as pg_url:
            settings = Settings(
                database_url=with_port(pg_url, proxy.port),
                apply_migrations_on_start=False,
                log_json=False,
                log_level="CRITICAL",
                db_pool_size=2,
            )
            async with running_app(settings) as (app, client), serving(app) as url:
                experiment = await client.post("/api/v1/experiments", json={"name": "degraded"})
                experiment_id = experiment.json()["id"]
                run = await client.post(f"/api/v1/experiments/{experiment_id}/runs", json={})
                run_id = run.json()["id"]
                page = await browser.new_page()
                try:
                    await page.goto(f"{url}/runs/{run_id}")
                    await page.get_by_text(run.json()["name"]).first.wait_for()
                    assert await page.get_by_test_id("degraded-banner").count() == 0

                    proxy.cut()
                    await page.reload()
                    banner = page.get_by_test_id("degraded-banner")
                    await banner.wait_for(timeout=15_000)
                    assert "database is unreachable" in (await banner.inner_text())
                    # The run is still on screen, from the cache.
                    await page.get_by_text(run.json()["name"]).first.wait_for()
                finally:
                    await page.close()
                proxy.restore()
    finally:
        await proxy.close()
