"""The Slack channel: the message it builds and its delivery to a real receiver."""

from typing import Any

import orjson
import pytest

from tests.notifications.receivers import http_receiver, make_notification
from trackboard.server.notifications.notification import SendError, SlackTarget
from trackboard.server.notifications.senders import Senders
from trackboard.server.notifications.slack import slack_message


def block_texts(message: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for block in message["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [item["text"] for item in block.get("fields", [])]
    return texts


def test_the_message_shows_run_status_metrics_trigger_and_link() -> None:
    message = slack_message(make_notification())

    assert message["text"] == ":warning: Run bright-fox-12: loss above 5"
    assert message["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":warning: Run bright-fox-12: loss above 5",
            "emoji": True,
        },
    }
    texts = block_texts(message)
    assert "*Run*\nbright-fox-12" in texts
    assert "*Status*\nRUNNING" in texts
    assert "*Trigger:* loss = 7.1 > 5 at step 120".replace(">", "&gt;") in texts
    assert "*loss*\n7.1" in texts
    assert "*accuracy*\n0.9123" in texts
    assert "*lr*\n0.0001" in texts
    assert texts[-1] == "<https://trackboard.example/runs/r1|Open in Trackboard>"


def test_at_most_eight_metrics_with_the_triggering_one_first() -> None:
    metrics = {f"m{index:02d}": {"value": index} for index in range(20)}
    metrics["zeta"] = {"value": float("nan")}
    notification = make_notification(
        run={"name": "r", "status": "RUNNING", "metrics": metrics},
        details={"key": "zeta", "value": float("nan"), "step": 3},
    )
    message = slack_message(notification)
    [metric_block] = [block for block in message["blocks"] if "text" not in block]
    fields = [field["text"] for field in metric_block["fields"]]
    assert fields[0] == "*zeta*\nNaN"
    assert fields[1:] == [f"*m{index:02d}*\n{index}" for index in range(7)]
    assert "*Trigger:* zeta = NaN at step 3" in block_texts(message)


def test_user_text_cannot_mention_a_channel_or_forge_a_link() -> None:
    notification = make_notification(
        title="Run <!channel> failed",
        text="see <https://evil.example|here> & more",
        run={"name": "<!here>", "status": "FAILED", "metrics": {}},
    )
    message = slack_message(notification)
    # The header is plain_text, which Slack shows as typed and never parses.
    assert message["blocks"][0]["text"]["type"] == "plain_text"
    mrkdwn = " ".join([message["text"], *block_texts(message)[1:]])
    assert "<!channel>" not in mrkdwn
    assert "<!here>" not in mrkdwn
    assert "<https://evil.example" not in mrkdwn
    assert message["text"] == ":warning: Run &lt;!channel&gt; failed"
    assert "*Run*\n&lt;!here&gt;" in block_texts(message)


def test_a_notification_without_a_run_has_only_title_text_and_link() -> None:
    notification = make_notification(
        kind="test", run=None, run_id=None, details={}, level="info", url=None
    )
    message = slack_message(notification)
    assert message["blocks"][0]["text"]["text"].startswith(":information_source: ")
    assert [block["type"] for block in message["blocks"]] == ["header", "section"]


async def test_the_message_is_posted_as_json() -> None:
    async with http_receiver() as receiver:
        channels = Senders(
            allow_http=True,
            allow_private=True,
            timeout_s=5,
            smtp_url=None,
            smtp_from="trackboard@example.com",
        )
        try:
            await channels.send(
                SlackTarget(url=f"{receiver.url}/services/T/B/x"), make_notification()
            )
        finally:
            await channels.aclose()
    [request] = receiver.requests
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.body) == slack_message(make_notification())


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (404, False)])
async def test_slack_answers_map_like_webhook_answers(status: int, retryable: bool) -> None:
    async with http_receiver(status=status) as receiver:
        channels = Senders(
            allow_http=True,
            allow_private=True,
            timeout_s=5,
            smtp_url=None,
            smtp_from="trackboard@example.com",
        )
        try:
            with pytest.raises(SendError) as raised:
                await channels.send(SlackTarget(url=receiver.url), make_notification())
        finally:
            await channels.aclose()
    assert raised.value.retryable is retryable
