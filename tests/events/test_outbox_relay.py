"""The relay's bookkeeping on both stores: unsent rows survive a broker failure, sent ones
are marked and pruned after the retention (the RabbitMQ side: tests/distributed)."""

import asyncio
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import select, update

from trackboard.server.backends.database import Database
from trackboard.server.backends.event_relay import (
    EventsUnavailableError,
    OutboxRelay,
    attach_outbox_relay,
)
from trackboard.server.events import Event
from trackboard.server.experiments import service as experiments
from trackboard.server.models import EventOutbox


class Broker:
    """Holds what it confirmed; `down` makes it refuse like an unreachable RabbitMQ."""

    def __init__(self) -> None:
        self.down = False
        self.confirmed: list[tuple[str, str, bytes]] = []

    async def publish(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        if self.down:
            raise EventsUnavailableError("connection refused")
        self.confirmed.extend(messages)

    async def close(self) -> None:
        return None


async def sent_at(database: Database) -> list[int | None]:
    async with database.transaction(write=False) as session:
        return list(await session.scalars(select(EventOutbox.sent_at).order_by(EventOutbox.id)))


async def test_events_stay_unsent_while_the_broker_is_down_then_go_out_in_order(
    database: Database,
) -> None:
    broker = Broker()
    relay = OutboxRelay(database, broker, batch_size=2)
    for name in ("a", "b", "c"):
        async with database.transaction() as session:
            await experiments.create_experiment(session, name, {})
    broker.down = True
    with pytest.raises(EventsUnavailableError):
        await relay.drain()
    assert await sent_at(database) == [None, None, None]
    broker.down = False
    await relay.drain()
    names = [Event.from_json(body).data["experiment"]["name"] for _, _, body in broker.confirmed]
    assert names == ["a", "b", "c"]
    assert None not in await sent_at(database)
    assert await relay.relay_once() == 0


async def test_sent_rows_are_pruned_after_the_retention_and_unsent_ones_never(
    database: Database,
) -> None:
    relay = OutboxRelay(database, Broker(), retention_s=3600)
    for name in ("old", "recent", "unsent"):
        async with database.transaction() as session:
            await experiments.create_experiment(session, name, {})
    now = time.time_ns() // 1_000_000
    async with database.transaction() as session:
        rows = list(await session.scalars(select(EventOutbox.id).order_by(EventOutbox.id)))
        for row_id, sent in zip(rows, (now - 7_200_000, now - 60_000, None), strict=True):
            await session.execute(
                update(EventOutbox).where(EventOutbox.id == row_id).values(sent_at=sent)
            )
    assert await relay.prune() == 1
    assert await sent_at(database) == [now - 60_000, None]


async def test_the_relay_stops_when_cancelled_as_a_commit_nudges_it(database: Database) -> None:
    # A nudge and a cancel in the same loop turn: asyncio.wait_for on 3.11 returned the
    # nudge and dropped the cancel, so the relay ran on and every shutdown waited 10 s.
    relay = OutboxRelay(database, Broker(), poll_interval_s=60.0)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.1)  # past its first pass, waiting for a nudge
    relay.nudge()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert done == {task}
    assert task.cancelled()


async def test_a_relay_publishes_its_own_commits_from_memory_then_marks_them_sent(
    database: Database,
) -> None:
    broker = Broker()
    relay = attach_outbox_relay(database, broker)
    async with database.transaction() as session:
        await experiments.create_experiment(session, "fresh", {})
    assert await relay.publish_fresh() == 1
    assert [Event.from_json(body).type for _, _, body in broker.confirmed] == ["experiment.created"]
    # Confirmed, not yet marked: the marking waits for others to share its statement.
    assert await sent_at(database) == [None]
    await relay.mark_published()
    assert None not in await sent_at(database)
    assert await relay.relay_once() == 0


async def test_a_poll_leaves_young_rows_to_the_process_that_committed_them(
    database: Database,
) -> None:
    # Committed by "another process" (no relay attached here): only its row exists.
    async with database.transaction() as session:
        await experiments.create_experiment(session, "orphan", {})
    broker = Broker()
    relay = OutboxRelay(database, broker, claim_after_s=60.0)
    await relay.drain(older_than_s=relay.claim_after_s)
    assert broker.confirmed == []
    # At start a relay takes every unsent row: what a dead predecessor left.
    await relay.poll()
    assert len(broker.confirmed) == 1
    assert None not in await sent_at(database)
