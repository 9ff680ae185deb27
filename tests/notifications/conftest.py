"""An app per test whose notifier may send to loopback receivers (both stores)."""

import pytest

from trackboard.server.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings (`tests/conftest.py`), allowing loopback targets over http."""
    return settings.model_copy(
        update={
            "notify_allow_http": True,
            "notify_allow_private_targets": True,
            "notify_send_timeout_s": 2.0,
            # Shorter than the delivery backoff: a retry is the target breaker's probe.
            "notify_breaker_reset_s": 0.5,
            "event_relay_poll_interval_s": 0.2,
        }
    )
