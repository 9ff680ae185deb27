"""The notifier keeps the enabled rules in memory and reads them again after a rule change:
one rules query per change, not one per event, and a changed rule applies to what follows."""

import contextvars
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.factories import log_points, make_run
from tests.notifications.receivers import http_receiver
from tests.notifications.test_notifier_embedded import add_rule, eventually
from trackboard.server.events import Event
from trackboard.server.notifications import intake as intake_module
from trackboard.server.notifications.intake import NotificationIntake
from trackboard.server.notifications.service import RuleSpec, all_enabled_rules


async def test_a_changed_or_replaced_rule_applies_to_the_next_event(
    client: httpx.AsyncClient,
) -> None:
    async with http_receiver() as first, http_receiver() as second:
        rule = await add_rule(
            client,
            triggers=[{"type": "run.finished"}],
            channels=[{"type": "webhook", "url": first.url}],
        )
        run = await make_run(client)
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
        await eventually(lambda: len(first.requests) == 1, 2.0)

        changed = await client.patch(
            f"/api/v1/notification-rules/{rule['id']}",
            json={"channels": [{"type": "webhook", "url": second.url}]},
        )
        assert changed.status_code == 200, changed.text
        run = await make_run(client)
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
        await eventually(lambda: len(second.requests) == 1, 2.0)

        deleted = await client.delete(f"/api/v1/notification-rules/{rule['id']}")
        assert deleted.status_code == 204, deleted.text
        await add_rule(
            client,
            triggers=[{"type": "run.failed"}],
            channels=[{"type": "webhook", "url": first.url}],
        )
        run = await make_run(client)
        await client.patch(f"/api/v1/runs/{run['id']}", json={"status": "FINISHED"})
        failed = await make_run(client)
        await client.patch(f"/api/v1/runs/{failed['id']}", json={"status": "FAILED"})
        await eventually(lambda: len(first.requests) == 2, 2.0)
    assert len(second.requests) == 1
    assert json.loads(first.requests[1].body)["run_id"] == failed["id"]


async def test_rules_are_read_once_per_rule_change_not_per_event(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = 0
    # Set in this test's task only: the server's own notifier reads rules in its tasks.
    mine = contextvars.ContextVar("mine", default=False)

    async def counted(session: AsyncSession) -> list[RuleSpec]:
        nonlocal reads
        reads += mine.get()
        return await all_enabled_rules(session)

    monkeypatch.setattr(intake_module, "all_enabled_rules", counted)
    await add_rule(
        client,
        triggers=[{"type": "metric.threshold", "key": "loss", "op": ">", "value": 100.0}],
        channels=[{"type": "webhook", "url": "http://127.0.0.1:9/never"}],
    )
    run = await make_run(client)
    await log_points(client, run["id"], [{"key": "loss", "value": 1.0, "step": 1}])
    # An intake of its own: the server's notifier handles these events too, at its pace.
    intake = NotificationIntake(app.state.database, "http://localhost")
    mine.set(True)

    def stored(step: int) -> Event:
        # No statistics: nothing crosses; the rules are read all the same.
        data = {"keys": ["loss"], "points": 1, "latest": {"loss": {"value": 1.0, "step": step}}}
        return Event("metrics.stored", data, run.get("project_id"), run["experiment_id"], run["id"])

    for step in range(5):
        assert (await intake.record([stored(step)])).deliveries == []
    assert reads == 1
    rule_changed = Event("notification_rule.changed", {"rule_id": 1, "change": "updated"})
    await intake.record([rule_changed])
    assert reads == 1  # read again when next needed
    for step in range(5, 8):
        await intake.record([stored(step)])
    assert reads == 2
