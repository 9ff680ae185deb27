import pytest
from sqlalchemy import text

from tests.databases import PostgresDatabases
from trackboard.server.backends.database import Database
from trackboard.server.config import Settings

# Left out of `make test-fast` (no PostgreSQL there) by this marker, like the [postgres] cases.
pytestmark = pytest.mark.postgres


async def random_page_cost(database: Database) -> str:
    async with database.transaction(write=False) as session:
        return str((await session.execute(text("SHOW random_page_cost"))).scalar_one())


async def test_the_api_database_prices_index_probes_as_in_memory(
    postgres_databases: PostgresDatabases,
) -> None:
    settings = Settings(database_random_page_cost=1.1)
    async with postgres_databases.database() as url:
        tuned = Database.connect(url, 2, settings.database_random_page_cost)
        try:
            assert await random_page_cost(tuned) == "1.1"
        finally:
            await tuned.dispose()
