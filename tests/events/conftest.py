"""Fixtures of the event tests."""

from collections.abc import AsyncIterator

import pytest

from trackboard.server.backends.database import Database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A database whose write transactions also store their events in `event_outbox`
    (the distributed mode's outbox, on both stores)."""
    db = Database.connect(database_url)
    db.events.outbox = True
    yield db
    await db.dispose()
