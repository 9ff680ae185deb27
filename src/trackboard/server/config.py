"""Settings of the service, read from `TRACKBOARD_*` environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".trackboard"


class Settings(BaseSettings):
    """Everything that differs between the embedded and the distributed mode."""

    model_config = SettingsConfigDict(env_prefix="TRACKBOARD_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    replica_urls: list[str] = []
    redis_url: str | None = None
    amqp_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 5005
    auth: bool = False
    apply_migrations_on_start: bool | None = None
    db_pool_size: int = 10
    log_json: bool = True
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        """The configured URL, else a SQLite file under the data dir (embedded mode)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'trackboard.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")

    def should_migrate_on_start(self) -> bool:
        """Embedded mode applies migrations at start; the distributed one uses `db upgrade`."""
        if self.apply_migrations_on_start is not None:
            return self.apply_migrations_on_start
        return self.is_embedded
