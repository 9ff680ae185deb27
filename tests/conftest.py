"""Shared fixtures: an app per test on SQLite and on PostgreSQL, reached over ASGI."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from tests.databases import PostgresDatabases, SqliteDatabases
from trackboard.server.accounts import credentials
from trackboard.server.app import create_app
from trackboard.server.config import Settings

pytest_plugins = ["tests.hang_report"]


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its lowest cost in this process. At the production cost a hash or a
    check is ~0.2 s of CPU, and the in-process tests make hundreds of them (every seeded
    user, every login): most of the fast suite's time. Same algorithm and format; the
    servers that tests start as programs keep the production cost."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "_hasher", cheap)
        credentials._dummy_hash.cache_clear()
        yield
    credentials._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
async def postgres_databases() -> AsyncIterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    await databases.drop_template()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> AsyncIterator[str]:
    """A fresh, migrated database of each kind: every API test runs on both stores."""
    if request.param == "sqlite":
        yield await sqlite_databases.database(tmp_path)
    else:
        async with postgres_databases.database() as url:
            yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        yield http
