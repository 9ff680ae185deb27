"""What the notifier sends: one `Notification` per (rule, event, channel), and the channel targets.

Rules and triggers decide *whether* to notify (`triggers`); channels decide *how* to say it
(`webhook`, `slack`, `email`). Between them sits this module's plain data, so a channel knows
nothing of rules, events or the database.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["info", "warn", "error"]


@dataclass(frozen=True)
class Notification:
    """One message for one channel of one rule.

    `delivery_id` is the same for every attempt of this (rule, event, channel): receivers
    deduplicate by it (a notifier killed after the target answered but before it recorded
    the send sends it again). `kind` is the trigger that fired: `run.finished`, `run.failed`,
    `run.killed`, `run.alert`, `metric.threshold`, `metric.nan`, `run.stalled`, or `test`
    for `POST /api/v1/notification-rules/{id}/test`."""

    delivery_id: str
    event_id: str
    kind: str
    rule_id: int
    rule_name: str
    # One line ("Run bright-fox-12 failed") and a few lines of plain text.
    title: str
    text: str
    level: Level
    occurred_at: int  # ms since the epoch
    project_id: int | None = None
    experiment_id: int | None = None
    run_id: str | None = None
    # The run's document as the API returns it (name, status, params, tags, and `metrics`:
    # key → {"value", "step", "timestamp", "min", "max", ...}), when the event is about a run.
    run: Mapping[str, Any] | None = None
    # Trigger-specific facts, e.g. {"key": "loss", "op": ">", "threshold": 5.0,
    # "value": 7.1, "step": 120} for `metric.threshold`.
    details: Mapping[str, Any] = field(default_factory=dict)
    # The run (or experiment) in the dashboard.
    url: str | None = None


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    # HMAC-SHA256 key for `Trackboard-Signature`; None sends no signature.
    secret: str | None = None


@dataclass(frozen=True)
class SlackTarget:
    url: str


@dataclass(frozen=True)
class EmailTarget:
    to: tuple[str, ...]


Target = WebhookTarget | SlackTarget | EmailTarget


class SendError(Exception):
    """A send failed; `retryable` says whether trying again later may succeed, and
    `retry_after_s`, when the target said so (HTTP `Retry-After`), how long to wait first."""

    def __init__(self, reason: str, *, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after_s = retry_after_s
