"""Throwaway databases for tests: a migrated template copied per test, dropped afterwards."""

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tests.services import POSTGRES_ADMIN_URL, require_service
from trackboard.server.backends.database import create_engine
from trackboard.server.migrate import upgrade_database


def postgres_url(database: str) -> str:
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


async def _admin() -> asyncpg.Connection:
    url = make_url(POSTGRES_ADMIN_URL)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()


class PostgresDatabases:
    """Creates `tb_test_<hex>` databases from one migrated template."""

    def __init__(self) -> None:
        self.template: str | None = None

    async def _ensure_template(self) -> str:
        if self.template is None:
            require_service("PostgreSQL", "127.0.0.1", 5432)
            name = f"tb_tmpl_{uuid.uuid4().hex[:12]}"
            admin = await _admin()
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
            await migrate(postgres_url(name))
            self.template = name
        return self.template

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        template = await self._ensure_template()
        name = f"tb_test_{uuid.uuid4().hex[:12]}"
        admin = await _admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        try:
            yield postgres_url(name)
        finally:
            admin = await _admin()
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    async def drop_template(self) -> None:
        if self.template is not None:
            admin = await _admin()
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            finally:
                await admin.close()


class SqliteDatabases:
    """Copies one migrated SQLite file per test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template: Path | None = None

    async def database(self, target_dir: Path) -> str:
        if self.template is None:
            template = self.directory / "template.db"
            await migrate(f"sqlite+aiosqlite:///{template}")
            self.template = template
        target = target_dir / "trackboard.db"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"
