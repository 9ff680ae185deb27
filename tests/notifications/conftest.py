"""An app per test whose notifier may send to loopback receivers (both stores)."""

from pathlib import Path

import pytest

from trackboard.server.config import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=database_url,
        apply_migrations_on_start=False,
        log_json=False,
        log_level="WARNING",
        notify_allow_http=True,
        notify_allow_private_targets=True,
        notify_send_timeout_s=2.0,
        event_relay_poll_interval_s=0.2,
    )
