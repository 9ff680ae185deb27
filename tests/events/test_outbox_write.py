"""Writing the outbox rows in the committing transaction, on both stores (on PostgreSQL
through the driver's own prepared statement): failures raise as SQLAlchemy raises them."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from trackboard.server.backends.database import Database, is_outage, normalise_url
from trackboard.server.events import Event, record, recorded
from trackboard.server.experiments import service as experiments
from trackboard.server.models import EventOutbox


async def stored(database: Database) -> list[tuple[str, str]]:
    async with database.transaction(write=False) as session:
        rows = await session.execute(
            select(EventOutbox.event_id, EventOutbox.type).order_by(EventOutbox.id)
        )
        return [(event_id, event_type) for event_id, event_type in rows]


async def test_every_event_of_a_transaction_gets_its_row(database: Database) -> None:
    # The first transaction records without a statement before (the transaction begins
    # with the insert itself), the second after one.
    alone = Event("run.alert", {"title": "alone"})
    async with database.transaction() as session:
        record(session, alone)
    async with database.transaction() as session:
        await experiments.create_experiment(session, "several", {})
        record(session, Event("run.alert", {"title": "after the experiment"}))
        events = [alone, *recorded(session)]
    rows = await stored(database)
    assert rows == [(event.id, event.type) for event in events]
    async with database.transaction(write=False) as session:
        bodies = list(await session.scalars(select(EventOutbox.body).order_by(EventOutbox.id)))
    assert [Event.from_json(body) for body in bodies] == events


async def test_a_refused_outbox_row_fails_the_commit_as_an_integrity_error(
    database: Database,
) -> None:
    twice = Event("run.alert", {"title": "twice"})

    async def record_twice() -> None:
        async with database.transaction() as session:
            await experiments.create_experiment(session, "refused", {})
            record(session, twice)
            record(session, twice)  # the same event id: the unique index refuses it

    with pytest.raises(IntegrityError):
        await record_twice()
    assert await stored(database) == []
    async with database.transaction(write=False) as session:
        assert await experiments.find_experiment_by_name(session, "refused") is None


# PostgreSQL only: a local SQLite file has no connection to lose.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_connection_lost_at_the_outbox_insert_is_an_outage(
    database: Database, database_url: str
) -> None:
    killer = create_async_engine(normalise_url(database_url))

    async def lose_the_connection_before_the_insert() -> None:
        async with database.transaction() as session:
            await experiments.create_experiment(session, "lost", {})
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with killer.connect() as other:
                await other.execute(text(f"SELECT pg_terminate_backend({int(pid or 0)})"))

    try:
        with pytest.raises(DBAPIError) as raised:
            await lose_the_connection_before_the_insert()
    finally:
        await killer.dispose()
    # What the breaker counts and the API answers with 503.
    assert is_outage(raised.value)
    assert await stored(database) == []
