"""The Slack channel: an incoming-webhook message with Block Kit blocks.

Every user-supplied string is escaped for Slack's mrkdwn, so a run named `<!channel>`
cannot ping a whole channel.
"""

from typing import Any

import orjson

from trackboard.server.notifications.http_post import JsonPoster
from trackboard.server.notifications.notification import Level, Notification, SlackTarget
from trackboard.server.notifications.run_summary import summarize

LEVEL_EMOJI: dict[Level, str] = {
    "info": ":information_source:",
    "warn": ":warning:",
    "error": ":rotating_light:",
}
# Block Kit limits: header text 150 characters, section text 3000, field text 2000.
_HEADER_CHARS = 150
_SECTION_CHARS = 3000
_FIELD_CHARS = 2000


def escape_mrkdwn(text: str) -> str:
    """`text` with the three characters Slack gives meaning to escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int = _SECTION_CHARS) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text, limit)}


def _field(label: str, value: str) -> dict[str, str]:
    return _mrkdwn(f"*{escape_mrkdwn(label)}*\n{escape_mrkdwn(value)}", _FIELD_CHARS)


def slack_message(notification: Notification) -> dict[str, Any]:
    """The incoming-webhook payload: a one-line fallback `text` and the blocks."""
    emoji = LEVEL_EMOJI[notification.level]
    summary = summarize(notification)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"{emoji} {notification.title}", _HEADER_CHARS),
                "emoji": True,
            },
        }
    ]
    about: dict[str, Any] = {"type": "section"}
    if notification.text:
        about["text"] = _mrkdwn(escape_mrkdwn(notification.text))
    run_fields = [
        _field(label, value)
        for label, value in (("Run", summary.name), ("Status", summary.status))
        if value is not None
    ]
    if run_fields:
        about["fields"] = run_fields
    if len(about) > 1:
        blocks.append(about)
    if summary.trigger is not None:
        trigger = f"*Trigger:* {escape_mrkdwn(summary.trigger)}"
        blocks.append({"type": "section", "text": _mrkdwn(trigger)})
    if summary.metrics:
        fields = [_field(key, value) for key, value in summary.metrics]
        blocks.append({"type": "section", "fields": fields})
    if notification.url is not None:
        link = escape_mrkdwn(notification.url).replace("|", "%7C")
        blocks.append({"type": "section", "text": _mrkdwn(f"<{link}|Open in Trackboard>")})
    fallback = _clip(f"{emoji} {escape_mrkdwn(notification.title)}", _SECTION_CHARS)
    return {"text": fallback, "blocks": blocks}


async def send_slack(poster: JsonPoster, target: SlackTarget, notification: Notification) -> None:
    """POST `notification` to the Slack incoming webhook; raise `SendError` unless 2xx."""
    await poster.post(target.url, orjson.dumps(slack_message(notification)))
