"""From events to owed deliveries: match rules, write one delivery row per channel.

`NotificationIntake.record(events)` is the first half of the notifier's message handler
(`engine.NotificationEngine.handle`), free of any transport: the distributed notifier calls
that handler for each batch it takes from its RabbitMQ queue and acks after it returns; the
embedded server calls it from the outbox relay, which marks the events sent after it
returns. Either way the deliveries are committed before the event is let go, and a
redelivered event inserts nothing new: each delivery is unique by (rule, channel, dedupe
key), the dedupe key being the event id or, for triggers reported once per run, the
trigger and the run.

The enabled rules are read once and kept in memory until a `notification_rule.changed`
event (recorded by the rules service, so it arrives after the change committed) comes
through this handler: then they are read again before the batch that carries it is
matched. Events reach a notifier in the order one process committed them, so a run event
committed after a rule change in the same server process is matched against the changed
rules; an event from another process (a worker, a second server) may overtake the rule's
event by the time its relay takes, and be matched against the rules as they were.
"""

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import Database
from trackboard.server.clock import now_ms
from trackboard.server.events import Event
from trackboard.server.models import NotificationDelivery
from trackboard.server.notifications import repository
from trackboard.server.notifications.notification import Notification
from trackboard.server.notifications.service import RuleSpec, all_enabled_rules
from trackboard.server.notifications.triggers import Match, event_matches
from trackboard.server.runs import service as runs
from trackboard.server.search import service as search

log = logging.getLogger(__name__)

# The events any trigger can fire on.
WATCHED_EVENTS = frozenset(
    {"run.finished", "run.failed", "run.killed", "run.alert", "metrics.stored"}
)
# The events after which the rules kept in memory are read again.
RULE_EVENTS = frozenset({"notification_rule.changed"})
# (rule id, dedupe key) pairs this process recorded lately: a threshold crossed for the
# rest of a run matches every write, and should cost no query after the first.
RECENT_LIMIT = 50_000


def delivery_id(rule_id: int, channel_index: int, dedupe_key: str) -> str:
    """The same for every attempt of one (rule, channel, dedupe key): receivers dedupe by it."""
    raw = f"{rule_id}:{channel_index}:{dedupe_key}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def notification_payload(notification: Notification) -> str:
    return orjson.dumps(notification.__dict__).decode()


def notification_from_payload(payload: str) -> Notification:
    return Notification(**orjson.loads(payload))


class Recorded(NamedTuple):
    """Deliveries an intake inserted (as they were inserted, not attached to a session) and
    the rules, by id, they were matched against."""

    deliveries: list[NotificationDelivery]
    rules: dict[int, RuleSpec]


class NotificationIntake:
    """Matches events against the rules in the database and records the deliveries owed."""

    def __init__(self, database: Database, dashboard_url: str) -> None:
        self.database = database
        self.dashboard_url = dashboard_url
        self._recent: OrderedDict[tuple[int, str], None] = OrderedDict()
        # The enabled rules, None until read (again): one query per rule change, not one
        # per batch of events (in the embedded mode every metric write is a batch).
        self._rules: list[RuleSpec] | None = None

    def run_url(self, run_id: str) -> str:
        return f"{self.dashboard_url}/runs/{run_id}"

    def _remember(self, rule_id: int, dedupe_key: str) -> None:
        self._recent[(rule_id, dedupe_key)] = None
        while len(self._recent) > RECENT_LIMIT:
            self._recent.popitem(last=False)

    def forget_rules(self) -> None:
        """Read the rules again before matching the next event."""
        self._rules = None

    async def enabled_rules(self, session: AsyncSession) -> list[RuleSpec]:
        if self._rules is None:
            self._rules = await all_enabled_rules(session)
        return self._rules

    async def record(self, events: Sequence[Event], *, claimed_until: int = 0) -> Recorded:
        """Record the deliveries `events` owe, claimed until `claimed_until` (ms; 0: not
        claimed, any notifier's next claim takes them): those inserted, with the rules they
        were matched against. A claimed one is this notifier's to send, and another's once
        the claim has run out."""
        if any(event.type in RULE_EVENTS for event in events):
            self.forget_rules()
        watched = [event for event in events if event.type in WATCHED_EVENTS and event.run_id]
        if not watched:
            return Recorded([], {})
        # Keys taken in this batch: two writes of one run crossing a threshold are one.
        taken: set[tuple[int, str]] = set()
        rows: list[dict[str, Any]] = []
        # Matching only reads; the write lock (one writer at a time on SQLite) is taken
        # only when there is something to record.
        async with self.database.transaction(write=False) as session:
            rules = await self.enabled_rules(session)
            for event in watched:
                for rule in rules:
                    if rule.watches(event.project_id, event.experiment_id):
                        rows.extend(await self._rows_for(session, rule, event, taken))
        inserted: dict[tuple[int, int, str], int] = {}
        if rows:
            for row in rows:
                row["claimed_until"] = claimed_until
            async with self.database.transaction() as session:
                inserted = await repository.insert_deliveries(session, rows)
        # Only once committed: a failed batch is handled again on redelivery.
        for rule_id, dedupe_key in taken:
            self._remember(rule_id, dedupe_key)
        deliveries = [
            NotificationDelivery(id=inserted[key], **row)
            for row in rows
            if (key := (row["rule_id"], row["channel_index"], row["dedupe_key"])) in inserted
        ]
        return Recorded(deliveries, {rule.id: rule for rule in rules})

    async def _rows_for(
        self, session: AsyncSession, rule: RuleSpec, event: Event, taken: set[tuple[int, str]]
    ) -> list[dict[str, Any]]:
        matches = [
            match
            for match in event_matches(rule.triggers, event)
            if (rule.id, match.dedupe_key) not in self._recent
            and (rule.id, match.dedupe_key) not in taken
        ]
        if not matches:
            return []
        assert event.run_id is not None
        if not await self.run_passes_filter(session, rule, event.run_id, event.experiment_id):
            return []
        run = event.data.get("run")
        if not isinstance(run, Mapping):
            found = await runs.get_run(session, event.run_id)
            run = (await runs.describe_runs(session, [found]))[0]
        rows: list[dict[str, Any]] = []
        for match in matches:
            taken.add((rule.id, match.dedupe_key))
            rows.extend(
                self.delivery_rows(
                    rule,
                    match,
                    run,
                    event_id=event.id,
                    occurred_at=event.occurred_at,
                    project_id=event.project_id,
                    experiment_id=event.experiment_id,
                    run_id=event.run_id,
                )
            )
        return rows

    async def run_passes_filter(
        self, session: AsyncSession, rule: RuleSpec, run_id: str, experiment_id: int | None
    ) -> bool:
        if not rule.run_filter or experiment_id is None:
            return True
        # The search's own interpreter of the filter language, narrowed to this run: a
        # rule's filter means exactly what it means in the runs table.
        page = await search.search_runs(
            session,
            experiment_ids=[experiment_id],
            filter_text=f"{rule.run_filter} and attributes.run_id = '{run_id}'",
            order_by=[],
            limit=1,
        )
        return bool(page.runs)

    def delivery_rows(
        self,
        rule: RuleSpec,
        match: Match,
        run: Mapping[str, Any] | None,
        *,
        event_id: str,
        occurred_at: int,
        project_id: int | None,
        experiment_id: int | None,
        run_id: str,
    ) -> list[dict[str, Any]]:
        """One pending delivery per channel of `rule`, carrying the notification to send."""
        now = now_ms()
        rows = []
        for index, _channel in enumerate(rule.channels):
            notification = Notification(
                delivery_id=delivery_id(rule.id, index, match.dedupe_key),
                event_id=event_id,
                kind=match.kind,
                rule_id=rule.id,
                rule_name=rule.name,
                title=match.title,
                text=match.text,
                level=match.level,
                occurred_at=occurred_at,
                project_id=project_id,
                experiment_id=experiment_id,
                run_id=run_id,
                run=run,
                details=match.details,
                url=self.run_url(run_id),
            )
            rows.append(
                {
                    "rule_id": rule.id,
                    "channel_index": index,
                    "dedupe_key": match.dedupe_key,
                    "event_id": event_id,
                    "kind": match.kind,
                    "payload": notification_payload(notification),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                    "claimed_until": 0,
                    "sent_at": None,
                    "last_error": None,
                }
            )
        return rows
