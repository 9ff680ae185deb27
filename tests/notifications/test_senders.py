"""`Senders`: one entry point for every channel, and target checks at rule creation."""

from pathlib import Path

import pytest

from tests.notifications.receivers import (
    ScriptedResolver,
    http_receiver,
    make_notification,
    smtp_receiver,
)
from trackboard.server.config import Settings
from trackboard.server.notifications.notification import EmailTarget, SlackTarget, WebhookTarget
from trackboard.server.notifications.senders import Senders, check_target
from trackboard.server.notifications.target_guard import TargetRefused


@pytest.mark.parametrize(
    "address", ["ana@ml.example", "ops+alerts@example.co.uk", "root@localhost", "a.b-c@x-y.io"]
)
async def test_plausible_e_mail_addresses_are_accepted(address: str) -> None:
    await check_target(EmailTarget(to=(address,)), allow_http=False, allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "ana",
        "@ml.example",
        "ana@",
        "ana@@ml.example",
        "ana smith@ml.example",
        "ana@ml.example\r\nBcc: all@ml.example",
        "Ana <ana@ml.example>",
        "ana@ml.example, bo@ml.example",
        "ana@-ml.example",
        "ana@ml..example",
    ],
)
async def test_implausible_e_mail_addresses_are_refused(address: str) -> None:
    target = EmailTarget(to=("ok@ml.example", address))
    with pytest.raises(TargetRefused, match="not an e-mail address"):
        await check_target(target, allow_http=False, allow_private=False)


async def test_an_e_mail_target_needs_an_address() -> None:
    with pytest.raises(TargetRefused, match="at least one"):
        await check_target(EmailTarget(to=()), allow_http=False, allow_private=False)


@pytest.mark.parametrize(
    "target",
    [WebhookTarget(url="http://127.0.0.1/hook", secret="s"), SlackTarget(url="http://[::1]/x")],
)
async def test_webhook_and_slack_urls_go_through_the_guard(
    target: WebhookTarget | SlackTarget,
) -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        await check_target(target, allow_http=True, allow_private=False)
    await check_target(target, allow_http=True, allow_private=True)


async def test_senders_check_targets_with_their_own_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, notify_allow_http=True)
    channels = Senders.from_settings(settings)
    try:
        with pytest.raises(TargetRefused, match="TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS"):
            await channels.check_target(WebhookTarget(url="http://localhost/hook"))
    finally:
        await channels.aclose()


async def test_senders_use_the_resolver_they_were_given() -> None:
    resolver = ScriptedResolver(["93.184.215.14"])
    channels = Senders(
        allow_http=False,
        allow_private=False,
        timeout_s=5,
        smtp_url=None,
        smtp_from="trackboard@example.com",
        resolver=resolver,
    )
    try:
        await channels.check_target(SlackTarget(url="https://hooks.slack.com/services/T/B/x"))
    finally:
        await channels.aclose()
    assert resolver.calls == [("hooks.slack.com", 443)]


async def test_senders_dispatch_each_target_to_its_channel() -> None:
    with smtp_receiver() as mail:
        async with http_receiver() as web:
            channels = Senders(
                allow_http=True,
                allow_private=True,
                timeout_s=5,
                smtp_url=f"smtp://127.0.0.1:{mail.port}",
                smtp_from="trackboard@ml.example",
            )
            try:
                notification = make_notification()
                await channels.send(WebhookTarget(url=f"{web.url}/hook"), notification)
                await channels.send(SlackTarget(url=f"{web.url}/slack"), notification)
                await channels.send(EmailTarget(to=("ana@ml.example",)), notification)
            finally:
                await channels.aclose()
    assert [request.path for request in web.requests] == ["/hook", "/slack"]
    assert "Trackboard-Delivery-Id" in web.requests[0].headers
    assert "Trackboard-Delivery-Id" not in web.requests[1].headers
    assert len(mail.messages) == 1


async def test_sends_to_one_target_reuse_its_connection() -> None:
    """The answer's body is read, so the connection (checked, maybe TLS) serves the next
    send: one address check for several sends."""
    resolver = ScriptedResolver(["127.0.0.1"])
    channels = Senders(
        allow_http=True,
        allow_private=True,
        timeout_s=5,
        smtp_url=None,
        smtp_from="trackboard@example.com",
        resolver=resolver,
    )
    try:
        async with http_receiver() as receiver:
            target = WebhookTarget(url=f"http://hooks.test:{receiver.port}/hook", secret="s")
            for _ in range(3):
                await channels.send(target, make_notification())
        assert len(receiver.requests) == 3
        assert len(resolver.calls) == 1
    finally:
        await channels.aclose()
