"""`run.stalled`: a periodic look for RUNNING runs that stopped storing metrics.

Not an event — silence produces none — so every `notify_stalled_check_s` the notifier
asks the database which RUNNING runs in each stalled rule's scope stored nothing for the
rule's minutes, and records one delivery per run (dedupe key `stalled:<trigger>:<run>`,
so a run is reported once however many notifiers check, and never again).
"""

import logging
import uuid

from trackboard.server.clock import now_ms
from trackboard.server.notifications import repository
from trackboard.server.notifications.intake import NotificationIntake
from trackboard.server.notifications.schemas import RunStalledTrigger
from trackboard.server.notifications.service import all_enabled_rules
from trackboard.server.notifications.triggers import stalled_match
from trackboard.server.runs import service as runs

log = logging.getLogger(__name__)


async def record_stalled_runs(intake: NotificationIntake) -> int:
    """Record deliveries for runs newly stalled under any rule; how many rows were written."""
    now = now_ms()
    rows = []
    async with intake.database.transaction() as session:
        for rule in await all_enabled_rules(session):
            stalled_triggers = [
                (index, trigger)
                for index, trigger in enumerate(rule.triggers)
                if isinstance(trigger, RunStalledTrigger)
            ]
            if not stalled_triggers:
                continue
            candidates = await runs.idle_running_runs(session, rule.experiment_ids, rule.project_id)
            for run, last_activity in candidates:
                idle_ms = now - last_activity
                for index, trigger in stalled_triggers:
                    if idle_ms < trigger.minutes * 60_000:
                        continue
                    if not await intake.run_passes_filter(session, rule, run.id, run.experiment_id):
                        continue
                    document = (await runs.describe_runs(session, [run]))[0]
                    match = stalled_match(index, trigger, document, idle_ms)
                    rows.extend(
                        intake.delivery_rows(
                            rule,
                            match,
                            document,
                            event_id=uuid.uuid4().hex,
                            occurred_at=now,
                            project_id=rule.project_id,
                            experiment_id=run.experiment_id,
                            run_id=run.id,
                        )
                    )
        await repository.insert_deliveries(session, rows)
    return len(rows)
