"""HTTP routes of /api/v1/notification-rules (access: `gateway.access_policy`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter
from trackboard.server.gateway.dependencies import CurrentPrincipal, TargetProject, VisibleProjects
from trackboard.server.json_types import IdPath
from trackboard.server.notifications import service
from trackboard.server.notifications.notification import Notification
from trackboard.server.notifications.schemas import (
    ChannelTestResult,
    DeliveryList,
    RuleCreate,
    RuleList,
    RuleRead,
    RuleTestResult,
    RuleUpdate,
)
from trackboard.server.notifications.senders import Senders
from trackboard.server.notifications.sending import send_test
from trackboard.server.notifications.target_guard import TargetRefused
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(prefix="/api/v1/notification-rules", tags=["notifications"])


def senders_of(request: Request) -> Senders:
    senders: Senders = request.app.state.senders
    return senders


async def check_channels(request: Request, body: RuleCreate | RuleUpdate) -> None:
    """Refuse a target the notifier would refuse to send to (SSRF guard), before saving."""
    for index, channel in enumerate(body.channels or []):
        try:
            await senders_of(request).check_target(service.target_of(channel))
        except TargetRefused as error:
            raise InvalidParameter(f"channel {index} ({channel.type}): {error}") from None


@router.get("")
async def list_rules(session: ReadSession, project_ids: VisibleProjects) -> RuleList:
    rules = await service.list_rules(session, project_ids)
    return RuleList(rules=[service.to_read(rule) for rule in rules])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_rule(
    request: Request,
    body: RuleCreate,
    session: WriteSession,
    project_id: TargetProject,
    principal: CurrentPrincipal,
) -> RuleRead:
    await check_channels(request, body)
    rule = await service.create_rule(
        session, body, project_id=project_id, created_by=principal.name
    )
    return service.to_read(rule)


@router.get("/{rule_id}")
async def get_rule(rule_id: IdPath, session: ReadSession) -> RuleRead:
    return service.to_read(await service.get_rule(session, rule_id))


@router.patch("/{rule_id}")
async def update_rule(
    request: Request, rule_id: IdPath, body: RuleUpdate, session: WriteSession
) -> RuleRead:
    await check_channels(request, body)
    return service.to_read(await service.update_rule(session, rule_id, body))


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: IdPath, session: WriteSession) -> Response:
    await service.delete_rule(session, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{rule_id}/test")
async def test_rule(request: Request, rule_id: IdPath) -> RuleTestResult:
    """Send a test message to every channel of the rule now (no retries) and say how each went."""
    async with request.app.state.database.transaction(write=False) as session:
        spec = service.to_spec(await service.get_rule(session, rule_id))
    notification = Notification(
        delivery_id=uuid.uuid4().hex,
        event_id=uuid.uuid4().hex,
        kind="test",
        rule_id=spec.id,
        rule_name=spec.name,
        title=f"Test of the notification rule {spec.name!r}",
        text="Trackboard will send messages like this one when the rule's triggers fire.",
        level="info",
        occurred_at=now_ms(),
        project_id=spec.project_id,
    )
    targets = [service.target_of(channel) for channel in spec.channels]
    errors = await send_test(senders_of(request), targets, notification)
    return RuleTestResult(
        results=[
            ChannelTestResult(channel_index=index, type=channel.type, ok=error is None, error=error)
            for index, (channel, error) in enumerate(zip(spec.channels, errors, strict=True))
        ]
    )


@router.get("/{rule_id}/deliveries")
async def list_deliveries(
    rule_id: IdPath,
    session: ReadSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    """The rule's latest deliveries, newest first: sent, pending, and given up (with why)."""
    deliveries = await service.list_deliveries(session, rule_id, limit)
    return DeliveryList(deliveries=[service.delivery_read(d) for d in deliveries])
