"""Settings of an API server whose PostgreSQL is reached through a test's TCP proxy: auth on,
no rate limits, quiet logs, a small pool (the outage tests' common set-up)."""

from typing import Any

from tests.distributed.conftest import with_port
from trackboard.server.config import Settings


def proxied_settings(pg_url: str, proxy_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": with_port(pg_url, proxy_port),
        "auth": True,
        "rate_limit": False,
        "apply_migrations_on_start": False,
        "log_json": False,
        "log_level": "CRITICAL",
        "db_pool_size": 2,
    }
    return Settings(**{**values, **overrides})
