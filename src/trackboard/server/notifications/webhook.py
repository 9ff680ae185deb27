"""The generic webhook channel: the notification as JSON, signed with the target's secret.

A receiver verifies `Trackboard-Signature: sha256=<hex>` by computing HMAC-SHA256 of the
raw request body with the shared secret, and deduplicates by `Trackboard-Delivery-Id`.
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from trackboard.server.notifications.http_post import JsonPoster
from trackboard.server.notifications.notification import Notification, SendError, WebhookTarget


def _plain(value: Any) -> Any:
    # orjson serializes dicts, not other mappings (a frozen run document may be one).
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def webhook_body(notification: Notification) -> bytes:
    """The JSON body receivers get; NaN and infinities become null (JSON has neither)."""
    document = {
        "id": notification.delivery_id,
        "event_id": notification.event_id,
        "type": notification.kind,
        "rule": {"id": notification.rule_id, "name": notification.rule_name},
        "title": notification.title,
        "text": notification.text,
        "level": notification.level,
        "occurred_at": notification.occurred_at,
        "project_id": notification.project_id,
        "experiment_id": notification.experiment_id,
        "run_id": notification.run_id,
        "run": notification.run,
        "details": notification.details,
        "url": notification.url,
    }
    return orjson.dumps(document, default=_plain, option=orjson.OPT_NON_STR_KEYS)


def signature(body: bytes, secret: str) -> str:
    """The `Trackboard-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_headers(notification: Notification, body: bytes, secret: str | None) -> dict[str, str]:
    headers = {
        "Trackboard-Event-Id": notification.event_id,
        "Trackboard-Delivery-Id": notification.delivery_id,
    }
    if secret is not None:
        headers["Trackboard-Signature"] = signature(body, secret)
    return headers


async def send_webhook(
    poster: JsonPoster, target: WebhookTarget, notification: Notification
) -> None:
    """POST `notification` to the webhook; raise `SendError` unless it answered 2xx."""
    try:
        body = webhook_body(notification)
    except orjson.JSONEncodeError as exc:
        raise SendError(f"cannot encode the notification as JSON: {exc}", retryable=False) from None
    await poster.post(target.url, body, webhook_headers(notification, body, target.secret))
