"""Notification rules: create, read, change, delete, and the rules an event may fire.

The caller's access was checked by the gateway (editors manage rules of their projects,
viewers read them); this module keeps a rule's experiments inside the rule's project
and its targets safe to send to (`senders.check_target`).
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.accounts import service as accounts
from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.events import Event, record
from trackboard.server.models import NotificationDelivery, NotificationRule
from trackboard.server.notifications import repository
from trackboard.server.notifications.notification import (
    EmailTarget,
    SlackTarget,
    Target,
    WebhookTarget,
)
from trackboard.server.notifications.schemas import (
    Channel,
    ChannelRead,
    DeliveryRead,
    EmailChannel,
    EmailChannelRead,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    SlackChannel,
    SlackChannelRead,
    Trigger,
    WebhookChannel,
    WebhookChannelRead,
)
from trackboard.server.search.filter_parser import parse_filter

TRIGGERS = TypeAdapter(list[Trigger])
CHANNELS = TypeAdapter(list[Channel])


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the notifier evaluates it."""

    id: int
    name: str
    project_id: int | None
    experiment_ids: frozenset[int] | None
    run_filter: str | None
    triggers: list[Trigger]
    channels: list[Channel]

    def watches(self, project_id: int | None, experiment_id: int | None) -> bool:
        # A rule without a project watches everything: such rules exist only in the open
        # single-user mode.
        if self.project_id is not None and self.project_id != project_id:
            return False
        return self.experiment_ids is None or experiment_id in self.experiment_ids


def to_spec(rule: NotificationRule) -> RuleSpec:
    experiments = None if rule.experiment_ids is None else orjson.loads(rule.experiment_ids)
    return RuleSpec(
        id=rule.id,
        name=rule.name,
        project_id=rule.project_id,
        experiment_ids=None if experiments is None else frozenset(experiments),
        run_filter=rule.run_filter,
        triggers=TRIGGERS.validate_json(rule.triggers),
        channels=CHANNELS.validate_json(rule.channels),
    )


def channel_read(channel: Channel) -> ChannelRead:
    """What the API shows of a channel: never a secret (webhook secret, Slack URL)."""
    if isinstance(channel, WebhookChannel):
        return WebhookChannelRead(
            type="webhook", url=channel.url, has_secret=channel.secret is not None
        )
    if isinstance(channel, SlackChannel):
        return SlackChannelRead(type="slack", host=urlsplit(channel.url).hostname or "")
    return EmailChannelRead(type="email", to=list(channel.to))


def to_read(rule: NotificationRule) -> RuleRead:
    spec = to_spec(rule)
    return RuleRead(
        id=rule.id,
        project_id=rule.project_id,
        name=rule.name,
        enabled=rule.enabled,
        experiment_ids=None if spec.experiment_ids is None else sorted(spec.experiment_ids),
        run_filter=rule.run_filter,
        triggers=spec.triggers,
        channels=[channel_read(channel) for channel in spec.channels],
        created_by=rule.created_by,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def target_of(channel: Channel) -> Target:
    if isinstance(channel, WebhookChannel):
        return WebhookTarget(channel.url, channel.secret)
    if isinstance(channel, SlackChannel):
        return SlackTarget(channel.url)
    assert isinstance(channel, EmailChannel)
    return EmailTarget(tuple(channel.to))


async def rule_project(
    session: AsyncSession, experiment_ids: Sequence[int] | None, default: int | None
) -> int | None:
    """The rule's project: that of its experiments (they must share one), else `default`."""
    if not experiment_ids:
        return default
    owners = await accounts.experiment_projects(session, experiment_ids)
    missing = sorted(set(experiment_ids) - set(owners))
    if missing:
        raise NotFound(f"experiment {missing[0]} does not exist")
    projects = set(owners.values())
    if len(projects) > 1:
        raise InvalidParameter("a rule's experiments must all be in one project")
    return projects.pop()


def check_filter(run_filter: str | None) -> None:
    parse_filter(run_filter)  # a bad filter is a 400 now, not a silent rule later


async def create_rule(
    session: AsyncSession, body: RuleCreate, *, project_id: int | None, created_by: str
) -> NotificationRule:
    """Create a rule; `project_id` is where authorization put it when it names no
    experiment (the caller's project, or None with auth off)."""
    check_filter(body.run_filter)
    project = await rule_project(session, body.experiment_ids, project_id)
    if body.experiment_ids and body.project_id is not None and body.project_id != project:
        raise InvalidParameter(f"the rule's experiments are not in project {body.project_id}")
    now = now_ms()
    rule = NotificationRule(
        project_id=project,
        name=body.name,
        enabled=body.enabled,
        experiment_ids=None
        if body.experiment_ids is None
        else orjson.dumps(body.experiment_ids).decode(),
        run_filter=body.run_filter,
        triggers=TRIGGERS.dump_json(body.triggers).decode(),
        channels=CHANNELS.dump_json(body.channels).decode(),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    await session.flush()
    rule_changed(session, rule.id, rule.project_id, "created")
    return rule


async def get_rule(session: AsyncSession, rule_id: int) -> NotificationRule:
    rule = await repository.select_rule(session, rule_id)
    if rule is None:
        raise NotFound(f"notification rule {rule_id} does not exist")
    return rule


async def list_rules(
    session: AsyncSession, project_ids: Collection[int] | None
) -> Sequence[NotificationRule]:
    return await repository.select_rules(session, project_ids)


async def update_rule(session: AsyncSession, rule_id: int, body: RuleUpdate) -> NotificationRule:
    rule = await get_rule(session, rule_id)
    fields = body.model_fields_set
    if "experiment_ids" in fields:
        if body.experiment_ids:
            project = await rule_project(session, body.experiment_ids, rule.project_id)
            if project != rule.project_id:
                raise InvalidParameter("a rule's experiments must be in the rule's project")
        rule.experiment_ids = (
            None if body.experiment_ids is None else orjson.dumps(body.experiment_ids).decode()
        )
    if "run_filter" in fields:
        check_filter(body.run_filter)
        rule.run_filter = body.run_filter
    if body.name is not None:
        rule.name = body.name
    if body.enabled is not None:
        rule.enabled = body.enabled
    if body.triggers is not None:
        rule.triggers = TRIGGERS.dump_json(body.triggers).decode()
    if body.channels is not None:
        rule.channels = CHANNELS.dump_json(body.channels).decode()
    rule.updated_at = now_ms()
    await session.flush()
    rule_changed(session, rule.id, rule.project_id, "updated")
    return rule


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    rule = await get_rule(session, rule_id)
    await repository.delete_rule(session, rule_id)
    rule_changed(session, rule_id, rule.project_id, "deleted")


def rule_changed(session: AsyncSession, rule_id: int, project_id: int | None, change: str) -> None:
    """Record `notification_rule.changed`: after the commit, notifiers drop the rules they
    keep in memory (`intake.NotificationIntake`) and read them again."""
    data = {"rule_id": rule_id, "change": change}
    record(session, Event("notification_rule.changed", data, project_id=project_id))


async def rule_projects(session: AsyncSession, rule_ids: Collection[int]) -> dict[int, int | None]:
    """The project (or None) of each of these rules that exists: for authorization."""
    return await repository.select_rule_projects(session, rule_ids)


async def all_enabled_rules(session: AsyncSession) -> list[RuleSpec]:
    return [to_spec(rule) for rule in await repository.select_all_enabled_rules(session)]


def delivery_read(delivery: NotificationDelivery) -> DeliveryRead:
    return DeliveryRead.model_validate(delivery, from_attributes=True)


async def list_deliveries(
    session: AsyncSession, rule_id: int, limit: int
) -> Sequence[NotificationDelivery]:
    await get_rule(session, rule_id)
    return await repository.select_deliveries(session, rule_id, limit)
