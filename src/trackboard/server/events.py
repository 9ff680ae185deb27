"""Domain events: what changed, recorded by services on the unit of work, sent after commit.

A service that changes something calls `record(session, Event(...))`. The event waits in
`session.info` until `Database.transaction` ends: after a successful commit the list goes
to the database's `EventDispatch` (see `backends.event_bus`), after a rollback it is
dropped with the session, so nobody ever hears of a change that did not happen. In the
distributed mode the same transaction also writes each event into the `event_outbox`
table, from which a relay publishes it to RabbitMQ: a crash between the commit and the
publish delays an event but never loses it, and a relay may publish one twice, so
consumers deduplicate by `Event.id`.

Routes never record events: they translate HTTP and call services, so every door (v1,
MLflow, the worker, the importer through the API) produces the same events for the same
change.
"""

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

EventType = Literal[
    "experiment.created",
    "experiment.updated",
    "experiment.deleted",
    "experiment.restored",
    "run.created",
    # Name, tags or params changed (`data["changes"]` says which).
    "run.updated",
    # Any status move; `data["old_status"]` and `data["new_status"]`.
    "run.status_changed",
    # Recorded beside `run.status_changed` when a run reaches a terminal status.
    "run.finished",
    "run.failed",
    "run.killed",
    "run.deleted",
    "run.restored",
    # Points committed: keys, point count and the latest point of each key.
    "metrics.stored",
    # The training script's `run.alert(title, text, level)` (`POST /runs/{id}/alerts`);
    # `data["alert_id"]`, the client's, is the same on every retry of one alert.
    "run.alert",
    # A user's role in a project was set or removed (`data["role"]` is None when removed);
    # creating a project makes its creator a member.
    "project.member_changed",
    # `data["key_id"]`; the key's hash rides in `local`, for the credential cache only.
    "api_key.revoked",
    # A notification rule was created, changed or deleted: `data["rule_id"]` and
    # `data["change"]` (`created`, `updated`, `deleted`). Notifiers reload their rules.
    "notification_rule.changed",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# Status moves that end a run, and the event each one also records.
TERMINAL_EVENTS: dict[str, EventType] = {
    "FINISHED": "run.finished",
    "FAILED": "run.failed",
    "KILLED": "run.killed",
}

PENDING_KEY = "trackboard.events"


@dataclass(frozen=True)
class Event:
    """One change. `data` is JSON-ready: the changed object (an experiment or run document,
    as the API returns it) and what changed. `local` is for subscribers in the writing
    process only (the metric points for the live fan-out); it never leaves the process."""

    type: EventType
    data: Mapping[str, Any]
    project_id: int | None = None
    experiment_id: int | None = None
    run_id: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    local: Any = field(default=None, compare=False, repr=False)

    @cached_property
    def body(self) -> bytes:
        """The event as JSON, encoded once: the outbox row and the published message are
        the same bytes."""
        return orjson.dumps(
            {
                "id": self.id,
                "type": self.type,
                "occurred_at": self.occurred_at,
                "project_id": self.project_id,
                "experiment_id": self.experiment_id,
                "run_id": self.run_id,
                "data": self.data,
            }
        )

    def to_json(self) -> bytes:
        return self.body

    @classmethod
    def from_json(cls, body: bytes | str) -> "Event":
        raw = orjson.loads(body)
        if raw.get("type") not in EVENT_TYPES:
            raise ValueError(f"unknown event type {raw.get('type')!r}")
        return cls(
            type=raw["type"],
            data=raw["data"],
            project_id=raw["project_id"],
            experiment_id=raw["experiment_id"],
            run_id=raw["run_id"],
            id=raw["id"],
            occurred_at=raw["occurred_at"],
        )


def record(session: AsyncSession, event: Event) -> None:
    """Queue `event` on the session's transaction; it is sent only if that commits."""
    session.info.setdefault(PENDING_KEY, []).append(event)


def recorded(session: AsyncSession) -> Sequence[Event]:
    """The events recorded so far in this session's transaction, oldest first."""
    pending: list[Event] = session.info.get(PENDING_KEY, [])
    return tuple(pending)


def take_recorded(session: AsyncSession) -> list[Event]:
    """Remove and return the recorded events (the transaction's end hands them on)."""
    taken: list[Event] = session.info.pop(PENDING_KEY, [])
    return taken
