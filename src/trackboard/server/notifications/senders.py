"""The channels behind one entry point: `Senders.send(target, notification)`, and
`check_target` for validating a rule's target when the rule is created."""

import re
from typing import Self

import httpx

from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.config import Settings
from trackboard.server.notifications.email import EmailSender
from trackboard.server.notifications.guarded_transport import guarded_client
from trackboard.server.notifications.http_post import JsonPoster
from trackboard.server.notifications.notification import (
    Notification,
    SlackTarget,
    Target,
    WebhookTarget,
)
from trackboard.server.notifications.slack import send_slack
from trackboard.server.notifications.target_breakers import TargetBreakers
from trackboard.server.notifications.target_guard import (
    Resolver,
    TargetRefused,
    check_target_url,
    resolve_host,
)
from trackboard.server.notifications.webhook import send_webhook

# A plausible address, not RFC 5322: one @, no spaces or characters that would break a
# header, a dotless or dotted domain of letters, digits and hyphens.
_EMAIL = re.compile(
    r"[^\s@<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


async def check_target(
    target: Target, *, allow_http: bool, allow_private: bool, resolver: Resolver = resolve_host
) -> None:
    """Raise `TargetRefused` when `target` may not be used (bad or non-public URL, an e-mail
    address that is not `local@domain`); resolves webhook and Slack hosts."""
    if isinstance(target, WebhookTarget | SlackTarget):
        await check_target_url(
            target.url, allow_http=allow_http, allow_private=allow_private, resolver=resolver
        )
        return
    if not target.to:
        raise TargetRefused("an e-mail target needs at least one address")
    for address in target.to:
        if not _EMAIL.fullmatch(address):
            raise TargetRefused(f"not an e-mail address: {address!r}")


def _breaker_name(channel: str, url: str) -> str:
    """`channel:host[:port]`: never the path, since a Slack URL's path is its secret."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    except (httpx.InvalidURL, TypeError, UnicodeError):
        host = "invalid"
    return f"{channel}:{host}"


class Senders:
    """Every channel, built once; owns the guarded HTTP client (close with `aclose`)."""

    def __init__(
        self,
        *,
        allow_http: bool,
        allow_private: bool,
        timeout_s: float,
        smtp_url: str | None,
        smtp_from: str,
        resolver: Resolver = resolve_host,
        breaker: BreakerSettings = BreakerSettings(reset_after_s=30.0),
    ) -> None:
        self._allow_http = allow_http
        self._allow_private = allow_private
        self._resolver = resolver
        self._client = guarded_client(
            allow_private=allow_private, timeout_s=timeout_s, resolver=resolver
        )
        self._poster = JsonPoster(self._client, allow_http=allow_http, timeout_s=timeout_s)
        self._email = EmailSender(smtp_url=smtp_url, sender=smtp_from, timeout_s=timeout_s)
        self.breakers = TargetBreakers(breaker, timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Raises `ValueError` for an unreadable `smtp_url`."""
        return cls(
            allow_http=settings.notify_allow_http,
            allow_private=settings.notify_allow_private_targets,
            timeout_s=settings.notify_send_timeout_s,
            smtp_url=settings.smtp_url,
            smtp_from=settings.smtp_from,
            breaker=BreakerSettings(
                settings.breaker_failure_threshold, settings.notify_breaker_reset_s
            ),
        )

    async def send(self, target: Target, notification: Notification) -> None:
        """Deliver `notification` to `target`, through the breaker of its host (the SMTP
        server for e-mail); raise `SendError` when it was not delivered."""
        if isinstance(target, WebhookTarget):
            await self.breakers.send(
                _breaker_name("webhook", target.url),
                lambda: send_webhook(self._poster, target, notification),
            )
        elif isinstance(target, SlackTarget):
            await self.breakers.send(
                _breaker_name("slack", target.url),
                lambda: send_slack(self._poster, target, notification),
            )
        else:
            await self.breakers.send("smtp", lambda: self._email.send(target, notification))

    async def check_target(self, target: Target) -> None:
        """`check_target` with this instance's settings."""
        await check_target(
            target,
            allow_http=self._allow_http,
            allow_private=self._allow_private,
            resolver=self._resolver,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
