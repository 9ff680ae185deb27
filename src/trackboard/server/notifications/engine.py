"""The notifier: takes events in, owes deliveries, sends them, watches for stalled runs.

One `NotificationEngine` per notifier (a `trackboard notifier` process, or the embedded
server). `handle(events)` is its message handler, called by whatever carries events to it
(a RabbitMQ consumer, or the embedded outbox relay); `run()` sends and checks until
cancelled. Any number of engines may share a database: claims and dedupe keys keep each
notification to one send.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from trackboard.server.backends.database import Database
from trackboard.server.clock import now_ms
from trackboard.server.events import Event
from trackboard.server.notifications.intake import NotificationIntake
from trackboard.server.notifications.sending import DeliverySender, Sender
from trackboard.server.notifications.stalled import record_stalled_runs
from trackboard.server.observability.notifier_metrics import NotifierInstruments

log = logging.getLogger(__name__)


class NotificationEngine:
    def __init__(
        self,
        database: Database,
        sender: Sender,
        instruments: NotifierInstruments,
        *,
        dashboard_url: str,
        send_timeout_s: float,
        max_age_s: float,
        stalled_check_s: float,
    ) -> None:
        self.intake = NotificationIntake(database, dashboard_url)
        self.sending = DeliverySender(
            database, sender, instruments, send_timeout_s=send_timeout_s, max_age_s=max_age_s
        )
        self.stalled_check_s = stalled_check_s

    async def handle(self, events: Sequence[Event]) -> None:
        """Record what `events` owe (committed when this returns), then send it: claimed
        by this notifier in the transaction that records it, so no claim of its own."""
        recorded = await self.intake.record(events, claimed_until=now_ms() + self.sending.lease_ms)
        if recorded.deliveries:
            self.sending.take_claimed(recorded.deliveries, recorded.rules)

    async def check_stalled_runs(self) -> None:
        if await record_stalled_runs(self.intake):
            self.sending.nudge()

    async def _watch_stalled(self) -> None:
        while True:
            await asyncio.sleep(self.stalled_check_s)
            try:
                await self.check_stalled_runs()
            except Exception:
                log.warning("the stalled-run check failed; trying again later", exc_info=True)

    async def run(self) -> None:
        """Send owed deliveries and check for stalled runs, until cancelled."""
        tasks = [
            asyncio.create_task(self.sending.run(), name="notification-sender"),
            asyncio.create_task(self._watch_stalled(), name="stalled-runs"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
