"""Events reach subscribers (and the outbox) only when their transaction commits."""

from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select

from trackboard.server.backends.database import Database
from trackboard.server.events import Event, record
from trackboard.server.experiments import service as experiments
from trackboard.server.models import EventOutbox


class Heard:
    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    async def __call__(self, events: Sequence[Event]) -> None:
        self.batches.append(list(events))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url)
    yield db
    await db.dispose()


async def outbox_rows(database: Database) -> int:
    async with database.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(EventOutbox)) or 0)


async def test_committed_events_are_dispatched_once_after_the_commit(database: Database) -> None:
    heard = Heard()
    database.events.subscribe("test", heard)
    async with database.transaction() as session:
        experiment = await experiments.create_experiment(session, "committed", {})
        record(session, Event("run.alert", {"note": "second"}))
        assert heard.batches == []  # nothing before the commit
    assert [[e.type for e in batch] for batch in heard.batches] == [
        ["experiment.created", "run.alert"]
    ]
    created = heard.batches[0][0]
    assert created.experiment_id == experiment.id
    assert created.data["experiment"]["name"] == "committed"


async def test_events_are_never_sent_for_a_rolled_back_transaction(database: Database) -> None:
    heard = Heard()
    database.events.subscribe("test", heard)
    database.events.outbox = True

    async def change_then_fail() -> None:
        async with database.transaction() as session:
            await experiments.create_experiment(session, "rolled back", {})
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    assert heard.batches == []
    assert await outbox_rows(database) == 0
    async with database.transaction(write=False) as session:
        assert await experiments.find_experiment_by_name(session, "rolled back") is None


async def test_with_the_outbox_on_the_commit_also_stores_each_event(database: Database) -> None:
    database.events.outbox = True
    handed: list[Sequence[Event]] = []
    database.events.on_outbox_written = handed.append
    async with database.transaction() as session:
        await experiments.create_experiment(session, "stored", {"team": "a"})
    async with database.transaction(write=False) as session:
        row = (await session.execute(select(EventOutbox))).scalar_one()
    event = Event.from_json(row.body)
    assert (row.type, row.sent_at, row.event_id) == ("experiment.created", None, event.id)
    assert event.data["experiment"]["tags"] == {"team": "a"}
    # The relay gets the committed events themselves, to publish without reading them back.
    assert [[handed_event.id for handed_event in batch] for batch in handed] == [[event.id]]


async def test_a_failing_subscriber_does_not_stop_the_others(database: Database) -> None:
    async def broken(events: Sequence[Event]) -> None:
        raise RuntimeError("subscriber bug")

    heard = Heard()
    database.events.subscribe("broken", broken)
    database.events.subscribe("test", heard)
    async with database.transaction() as session:
        await experiments.create_experiment(session, "survives", {})
    assert len(heard.batches) == 1
