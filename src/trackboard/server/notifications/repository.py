"""SQL for notification rules and deliveries."""

from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import NotificationDelivery, NotificationRule


async def select_rule(session: AsyncSession, rule_id: int) -> NotificationRule | None:
    return await session.get(NotificationRule, rule_id)


async def select_rules_by_id(
    session: AsyncSession, rule_ids: Collection[int]
) -> Sequence[NotificationRule]:
    query = select(NotificationRule).where(NotificationRule.id.in_(list(rule_ids)))
    return (await session.scalars(query)).all()


async def select_rules(
    session: AsyncSession, project_ids: Collection[int] | None
) -> Sequence[NotificationRule]:
    query = select(NotificationRule).order_by(NotificationRule.id)
    if project_ids is not None:
        query = query.where(NotificationRule.project_id.in_(list(project_ids)))
    return (await session.scalars(query)).all()


async def select_all_enabled_rules(session: AsyncSession) -> Sequence[NotificationRule]:
    query = select(NotificationRule).where(NotificationRule.enabled)
    return (await session.scalars(query.order_by(NotificationRule.id))).all()


async def select_rule_projects(
    session: AsyncSession, rule_ids: Collection[int]
) -> dict[int, int | None]:
    query = select(NotificationRule.id, NotificationRule.project_id).where(
        NotificationRule.id.in_(list(rule_ids))
    )
    return {row.id: row.project_id for row in (await session.execute(query)).all()}


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.execute(delete(NotificationRule).where(NotificationRule.id == rule_id))


DELIVERIES = cast(Table, NotificationDelivery.__table__)


def _dialect_insert(session: AsyncSession, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def insert_deliveries(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, int, str], int]:
    """Insert deliveries; one that exists (same rule, channel and dedupe key) stays as it is.
    The id of each row inserted, by (rule id, channel index, dedupe key)."""
    if not rows:
        return {}
    statement = (
        _dialect_insert(session, NotificationDelivery)
        .on_conflict_do_nothing(index_elements=["rule_id", "channel_index", "dedupe_key"])
        .returning(
            DELIVERIES.c.id,
            DELIVERIES.c.rule_id,
            DELIVERIES.c.channel_index,
            DELIVERIES.c.dedupe_key,
        )
    )
    inserted = await session.execute(statement, list(rows))
    return {(rule_id, index, key): row_id for row_id, rule_id, index, key in inserted}


async def claim_due_deliveries(
    session: AsyncSession, now: int, lease_until: int, limit: int
) -> Sequence[NotificationDelivery]:
    """Pending deliveries due by `now` that no live notifier holds, claimed until
    `lease_until` (other notifiers skip them: `SKIP LOCKED` on PostgreSQL)."""
    query = (
        select(NotificationDelivery)
        .where(
            NotificationDelivery.status == "pending",
            NotificationDelivery.next_attempt_at <= now,
            NotificationDelivery.claimed_until <= now,
        )
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = (await session.scalars(query)).all()
    for delivery in claimed:
        delivery.claimed_until = lease_until
    await session.flush()
    return claimed


# One statement for a batch of sent deliveries, run once per delivery in one round trip.
_MARK_SENT = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("delivery_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at_ms"),
        attempts=bindparam("attempt_count"),
        last_error=None,
    )
)


async def mark_sent(session: AsyncSession, sent: Sequence[tuple[int, int, int]]) -> None:
    """Mark deliveries sent: (delivery id, attempts so far, when it was sent) each."""
    rows = [
        {"delivery_id": delivery_id, "attempt_count": attempts, "sent_at_ms": sent_at}
        for delivery_id, attempts, sent_at in sent
    ]
    await session.execute(_MARK_SENT, rows)


async def update_delivery(session: AsyncSession, delivery_id: int, **values: Any) -> None:
    await session.execute(
        update(NotificationDelivery).where(NotificationDelivery.id == delivery_id).values(**values)
    )


async def select_deliveries(
    session: AsyncSession, rule_id: int, limit: int
) -> Sequence[NotificationDelivery]:
    query = (
        select(NotificationDelivery)
        .where(NotificationDelivery.rule_id == rule_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def pending_deliveries(session: AsyncSession) -> tuple[int, int | None]:
    """How many deliveries are owed, and the earliest time one may be sent (or None)."""
    query = select(func.count(), func.min(NotificationDelivery.next_attempt_at)).where(
        NotificationDelivery.status == "pending"
    )
    count, earliest = (await session.execute(query)).one()
    return int(count or 0), None if earliest is None else int(earliest)
