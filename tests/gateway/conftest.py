"""Fixtures of the gateway tests: an app with auth on, on SQLite (and PostgreSQL where asked)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.databases import SqliteDatabases
from tests.gateway.harness import World, running_app, seed_world
from trackboard.server.config import Settings


@pytest.fixture
async def sqlite_settings(tmp_path: Path, sqlite_databases: SqliteDatabases) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=await sqlite_databases.database(tmp_path),
        apply_migrations_on_start=False,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def open_app(sqlite_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Auth off, bound to loopback: what a laptop runs by default."""
    async with running_app(sqlite_settings) as pair:
        yield pair


@pytest.fixture
async def open_client(open_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return open_app[1]


@pytest.fixture
async def auth_app(sqlite_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = sqlite_settings.model_copy(update={"auth": True, "rate_limit": False})
    async with running_app(settings) as pair:
        yield pair


@pytest.fixture
async def auth_client(auth_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return auth_app[1]


@pytest.fixture
async def world(auth_app: tuple[FastAPI, httpx.AsyncClient]) -> World:
    return await seed_world(*auth_app)
