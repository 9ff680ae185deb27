"""Notification rules, and the deliveries the notifier owes: one per (rule, event, channel).

A delivery row is written when a rule matches an event and is the notifier's memory: its
unique (rule, channel, dedupe key) keeps a redelivered event from notifying twice, and its
status, attempt count and next attempt time carry retries across notifier restarts.
"""

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class NotificationRule(Base):
    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # The project the rule watches (NULL in the open single-user mode: everything).
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # JSON: a list of experiment ids, or NULL for every experiment of the project.
    experiment_ids: Mapped[str | None] = mapped_column(Text, default=None)
    # A filter in the search language that a run must match, or NULL.
    run_filter: Mapped[str | None] = mapped_column(Text, default=None)
    # JSON lists, as validated by `notifications.schemas` (channels hold the secrets).
    triggers: Mapped[str] = mapped_column(Text)
    channels: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class NotificationDelivery(Base):
    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("notification_rules.id", ondelete="CASCADE"))
    channel_index: Mapped[int] = mapped_column(Integer)
    # The event id for event triggers; `<trigger>:<run id>[:<key>]` for those reported once
    # per run (thresholds, NaN, stalled).
    dedupe_key: Mapped[str] = mapped_column(String(300))
    event_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    # The `Notification` to send, as JSON (built once, when the rule matched).
    payload: Mapped[str] = mapped_column(Text)
    # pending → sent, or failed (given up; `last_error` says why).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    # A notifier sending it holds it until then; a notifier that died lets it go.
    claimed_until: Mapped[int] = mapped_column(BigInteger, default=0)
    sent_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        Index(
            "uq_notification_deliveries_rule_id",
            "rule_id",
            "channel_index",
            "dedupe_key",
            unique=True,
        ),
        # What is due: pending rows by next attempt time.
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )
