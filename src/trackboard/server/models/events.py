"""The transactional outbox: events written in the transaction of their change.

A relay (`backends.event_relay`) publishes unsent rows in `id` order and stamps `sent_at`
after the broker confirmed them; sent rows are pruned after a retention.
"""

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class EventOutbox(Base):
    __tablename__ = "event_outbox"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    # The event as published (`Event.to_json`).
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    # Unsent rows are `sent_at IS NULL` in id order; pruning walks old `sent_at` values.
    __table_args__ = (Index("ix_event_outbox_sent_at_id", "sent_at", "id"),)
