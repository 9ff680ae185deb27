"""Private databases on the machine's PostgreSQL and MariaDB for MLflow's SQL store: each
created empty for one test and dropped after it (MLflow creates its tables). MLflow's
pooled connections to a dropped database are never used again: each database has its own
name, so its own URI."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url

from tests.services import POSTGRES_ADMIN_URL, require_service

# root with an empty password, as the machine's MariaDB is set up (CI's too).
MARIADB_ADMIN_URL = os.environ.get(
    "TRACKBOARD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


@contextmanager
def _database(admin: URL, create: str, drop: str) -> Iterator[str]:
    """A new database on the server of `admin` (statements with `{name}`): its URI."""
    name = f"mlflow_import_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(create.format(name=name)))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(text(drop.format(name=name)))
    finally:
        engine.dispose()


@contextmanager
def postgres_store() -> Iterator[str]:
    """`postgresql://…/<new database>`, the URI MLflow's docs give (SQLAlchemy's driver
    for it: psycopg)."""
    admin = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    require_service("PostgreSQL", admin.host or "127.0.0.1", admin.port or 5432)
    # FORCE: MLflow keeps its pooled connections to the store open.
    with _database(
        admin, 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    ) as uri:
        yield uri


@contextmanager
def mariadb_store() -> Iterator[str]:
    """`mysql+pymysql://…/<new database>` on MariaDB, which MLflow's MySQL dialect reads."""
    admin = make_url(MARIADB_ADMIN_URL)
    require_service("MariaDB", admin.host or "127.0.0.1", admin.port or 3306)
    with _database(
        admin, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS `{name}`"
    ) as uri:
        yield uri
