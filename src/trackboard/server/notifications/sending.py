"""Sending owed deliveries: claim the due ones, send, record the outcome.

A delivery is claimed for a lease (a notifier killed mid-send lets it go when the lease
ends, and another or the restarted one sends it again), sent through its rule's channel,
then marked `sent` with the rest of its claimed batch in one transaction once the batch's
sends have ended (a transaction per send cost more than the send), so at most the sends of
the batch in progress at a crash are repeated (receivers dedupe by
`Trackboard-Delivery-Id`). The deliveries a notifier records from events are claimed by
the insert that records them and handed to its sender (`take_claimed`): no claim
transaction for them; the periodic claim takes the rest (retries falling due, stalled-run
reports, deliveries of a notifier that died). A retryable failure
is tried again with exponential backoff (or the target's `Retry-After`) until the
delivery is older than `max_age_s`; a permanent one (4xx, refused target) is given up at
once. Given-up deliveries stay in the table with their reason: the dead letters of the
notifier, listed by `GET /api/v1/notification-rules/{id}/deliveries`.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from trackboard.server.backends.database import Database
from trackboard.server.clock import now_ms
from trackboard.server.models import NotificationDelivery
from trackboard.server.notifications import repository
from trackboard.server.notifications.intake import notification_from_payload
from trackboard.server.notifications.notification import Notification, SendError, Target
from trackboard.server.notifications.service import RuleSpec, target_of, to_spec
from trackboard.server.observability.notifier_metrics import NotifierInstruments

log = logging.getLogger(__name__)

CLAIM_BATCH = 50
MAX_CONCURRENT_SENDS = 16
MAX_BACKOFF_S = 600.0
POLL_INTERVAL_S = 1.0


class Sender(Protocol):
    async def send(self, target: Target, notification: Notification) -> None: ...


def backoff_s(attempts: int, retry_after_s: float | None) -> float:
    """Seconds before attempt `attempts + 1`: 1, 2, 4, ... s with ±20 % jitter, capped;
    never sooner than the target asked."""
    delay = min(MAX_BACKOFF_S, 2.0 ** max(attempts - 1, 0)) * random.uniform(0.8, 1.2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, 3600.0))
    return delay


def target_for(delivery: NotificationDelivery, rules: Mapping[int, RuleSpec]) -> Target | None:
    """Where the delivery goes now (its rule may have changed or gone since it was owed)."""
    rule = rules.get(delivery.rule_id)
    if rule is None or delivery.channel_index >= len(rule.channels):
        return None
    return target_of(rule.channels[delivery.channel_index])


class DeliverySender:
    def __init__(
        self,
        database: Database,
        sender: Sender,
        instruments: NotifierInstruments,
        *,
        send_timeout_s: float,
        max_age_s: float,
    ) -> None:
        self.database = database
        self.sender = sender
        self.instruments = instruments
        self.send_timeout_s = send_timeout_s
        self.max_age_s = max_age_s
        # Long enough for a send to end on its own before anyone else may take it.
        self.lease_ms = int((2 * send_timeout_s + 5) * 1000)
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        # When the pending deliveries were last counted (monotonic seconds).
        self._last_count = 0.0
        # Handed over by `take_claimed`, not sent yet; `nudge` was called since the last
        # claim; when the next claim is due without a nudge (monotonic seconds).
        self._claimed: list[tuple[NotificationDelivery, Mapping[int, RuleSpec]]] = []
        self._nudged = False
        self._next_claim = 0.0

    def nudge(self) -> None:
        """New deliveries were recorded: send now, not at the next poll."""
        self._nudged = True
        self._wake.set()

    async def send_due(self, *, known_due: bool = False) -> int:
        """Claim and send one batch of due deliveries; how many were claimed.

        `known_due`: deliveries were just recorded (a nudge) or the last batch was full, so
        the claim is made at once; otherwise, and at least every poll interval (the pending
        gauge), a read first says whether anything is due: most polls find nothing, and
        need no write lock to say so."""
        now = now_ms()
        if not known_due or time.monotonic() - self._last_count >= POLL_INTERVAL_S:
            self._last_count = time.monotonic()
            async with self.database.transaction(write=False) as session:
                pending, earliest = await repository.pending_deliveries(session)
            self.instruments.pending.set(pending)
            if earliest is None or earliest > now:
                return 0
        async with self.database.transaction() as session:
            claimed = await repository.claim_due_deliveries(
                session, now, now + self.lease_ms, CLAIM_BATCH
            )
            rule_ids = {delivery.rule_id for delivery in claimed}
            rules = {
                rule.id: to_spec(rule)
                for rule in await repository.select_rules_by_id(session, rule_ids)
            }
        await self._send_pairs([(delivery, rules) for delivery in claimed])
        return len(claimed)

    def take_claimed(
        self, deliveries: Sequence[NotificationDelivery], rules: Mapping[int, RuleSpec]
    ) -> None:
        """Send these deliveries, claimed by this notifier as they were recorded (no claim
        transaction of their own), with the rules they were matched against."""
        self._claimed.extend((delivery, rules) for delivery in deliveries)
        self._wake.set()

    async def send_claimed(self) -> None:
        """Send the deliveries handed over by `take_claimed`, a batch at a time. One whose
        claim is half gone is left: past its claim, the next claim by any notifier takes
        it, and sending it now could overlap that send."""
        while self._claimed:
            batch, self._claimed = self._claimed[:CLAIM_BATCH], self._claimed[CLAIM_BATCH:]
            now = now_ms()
            fresh = [
                (delivery, rules)
                for delivery, rules in batch
                if delivery.claimed_until - now > self.lease_ms // 2
            ]
            await self._send_pairs(fresh)

    async def _send_pairs(
        self, batch: Sequence[tuple[NotificationDelivery, Mapping[int, RuleSpec]]]
    ) -> None:
        """Send claimed deliveries at once, then mark those sent in one transaction."""
        outcomes = await asyncio.gather(
            *(self._send_one(delivery, target_for(delivery, rules)) for delivery, rules in batch)
        )
        sent = [outcome for outcome in outcomes if outcome is not None]
        if sent:
            async with self.database.transaction() as session:
                await repository.mark_sent(session, sent)

    async def _send_one(
        self, delivery: NotificationDelivery, target: Target | None
    ) -> tuple[int, int, int] | None:
        """Send one delivery: (its id, its attempts, when) to be marked sent with the batch,
        or None when it failed (recorded here, with its retry or the reason it was given up)."""
        async with self._slots:
            notification = notification_from_payload(delivery.payload)
            channel = type(target).__name__.removesuffix("Target").lower() if target else "none"
            try:
                if target is None:
                    raise SendError("the rule or its channel was removed", retryable=False)
                async with asyncio.timeout(self.send_timeout_s + 5):
                    await self.sender.send(target, notification)
            except SendError as error:
                await self._failed(delivery, channel, error)
            except TimeoutError:
                await self._failed(delivery, channel, SendError("timed out", retryable=True))
            except Exception as error:
                log.exception("notification %s: unexpected send error", delivery.id)
                await self._failed(delivery, channel, SendError(repr(error), retryable=True))
            else:
                now = now_ms()
                self.instruments.sent.labels(channel).inc()
                lag_s = max(0, now - notification.occurred_at) / 1000
                self.instruments.lag.labels(channel).observe(lag_s)
                return delivery.id, delivery.attempts + 1, now
            return None

    async def _failed(self, delivery: NotificationDelivery, channel: str, error: SendError) -> None:
        now = now_ms()
        attempts = delivery.attempts + 1
        too_old = now - delivery.created_at > self.max_age_s * 1000
        values: dict[str, object] = {"attempts": attempts, "last_error": error.reason[:1000]}
        if error.retryable and not too_old:
            delay = backoff_s(attempts, getattr(error, "retry_after_s", None))
            values.update(next_attempt_at=now + int(delay * 1000), claimed_until=0)
            self.instruments.retried.labels(channel).inc()
            log.info(
                "notification %s via %s failed (%s); retry %d in %.1f s",
                delivery.id,
                channel,
                error.reason,
                attempts,
                delay,
            )
        else:
            if error.retryable:
                values["last_error"] = f"gave up after {attempts} attempts: {error.reason}"[:1000]
            values["status"] = "failed"
            self.instruments.failed.labels(channel).inc()
            log.warning("notification %s via %s given up: %s", delivery.id, channel, error.reason)
        async with self.database.transaction() as session:
            await repository.update_delivery(session, delivery.id, **values)

    async def run(self) -> None:
        """Send due deliveries on every nudge and poll, until cancelled."""
        while True:
            try:
                await self.send_claimed()
                # Handed-over deliveries need no claim: claim on a nudge, and otherwise
                # every poll interval (retries falling due, other notifiers' leftovers).
                if self._nudged or time.monotonic() >= self._next_claim:
                    known_due, self._nudged = self._nudged, False
                    self._next_claim = time.monotonic() + POLL_INTERVAL_S
                    # Under a stream of nudges, no count before each claim.
                    while await self.send_due(known_due=known_due) == CLAIM_BATCH:
                        known_due = True
            except Exception:
                log.warning("sending notifications failed; retrying", exc_info=True)
            # asyncio.timeout, not wait_for, which can swallow a cancellation on 3.11.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, self._next_claim - time.monotonic())):
                    await self._wake.wait()
            self._wake.clear()


async def send_test(
    sender: Sender, targets: Sequence[Target], notification: Notification
) -> list[str | None]:
    """Send `notification` to each target now (no retries); the error of each, or None."""
    errors: list[str | None] = []
    for target in targets:
        try:
            await sender.send(target, notification)
        except SendError as error:
            errors.append(error.reason)
        else:
            errors.append(None)
    return errors
