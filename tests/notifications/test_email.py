"""The e-mail channel against a real SMTP server (aiosmtpd) on loopback."""

from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.live_server import free_port
from tests.notifications.receivers import (
    LoopbackTls,
    loopback_tls,
    make_notification,
    smtp_receiver,
)
from trackboard.server.notifications.email import EmailSender, parse_smtp_url
from trackboard.server.notifications.notification import EmailTarget, Notification, SendError


async def send(smtp_url: str | None, to: tuple[str, ...], notification: Notification) -> None:
    sender = EmailSender(smtp_url=smtp_url, sender="trackboard@ml.example", timeout_s=5)
    await sender.send(EmailTarget(to=to), notification)


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    return str(plain.get_content()), str(html.get_content())


async def test_the_message_has_subject_both_parts_and_stable_ids() -> None:
    with smtp_receiver() as receiver:
        url = f"smtp://127.0.0.1:{receiver.port}"
        await send(url, ("ana@ml.example", "bo@ml.example"), make_notification())
        await send(url, ("ana@ml.example",), make_notification())

    (envelope, message), (_, resent) = receiver.messages
    assert envelope.mail_from == "trackboard@ml.example"
    assert envelope.rcpt_tos == ["ana@ml.example", "bo@ml.example"]
    assert message["Subject"] == "Run bright-fox-12: loss above 5"
    assert message["From"] == "trackboard@ml.example"
    assert message["To"] == "ana@ml.example, bo@ml.example"
    assert message["Message-ID"] == "<trackboard.d-42@ml.example>"
    assert resent["Message-ID"] == message["Message-ID"]
    assert message["X-Trackboard-Event-Id"] == "e-7"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = parts(message)
    assert "Run: bright-fox-12" in plain
    assert "Trigger: loss = 7.1 > 5 at step 120" in plain
    assert "  loss: 7.1" in plain
    assert "Open in Trackboard: https://trackboard.example/runs/r1" in plain
    assert "<th>Trigger</th><td>loss = 7.1 &gt; 5 at step 120</td>" in html
    assert '<a href="https://trackboard.example/runs/r1">Open in Trackboard</a>' in html


async def test_run_names_and_text_are_escaped_in_the_html_part() -> None:
    notification = make_notification(
        title="Run <b>x</b>\nfailed",
        text='<script>alert("x")</script>',
        run={"name": "<img src=x onerror=alert(1)>", "status": "FAILED", "metrics": {}},
        url='javascript:alert("x")',
    )
    with smtp_receiver() as receiver:
        await send(f"smtp://127.0.0.1:{receiver.port}", ("ana@ml.example",), notification)

    [(_, message)] = receiver.messages
    assert message["Subject"] == "Run <b>x</b> failed"
    plain, html = parts(message)
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html
    assert "Run: <img src=x onerror=alert(1)>" in plain


async def test_a_message_id_is_derived_even_from_an_unusual_delivery_id() -> None:
    with smtp_receiver() as receiver:
        url = f"smtp://127.0.0.1:{receiver.port}"
        notification = make_notification(delivery_id="rule 3/event <7>")
        await send(url, ("ana@ml.example",), notification)
        await send(url, ("ana@ml.example",), notification)
    first, second = (message["Message-ID"] for _, message in receiver.messages)
    assert first == second
    assert first.startswith("<trackboard.")
    assert " " not in first


async def test_a_refused_recipient_is_permanent() -> None:
    with smtp_receiver() as receiver, pytest.raises(SendError, match="550") as raised:
        await send(
            f"smtp://127.0.0.1:{receiver.port}", ("refuse5@ml.example",), make_notification()
        )
    assert not raised.value.retryable
    assert receiver.messages == []


async def test_a_busy_mailbox_is_retryable() -> None:
    with smtp_receiver() as receiver, pytest.raises(SendError, match="450") as raised:
        await send(
            f"smtp://127.0.0.1:{receiver.port}", ("refuse4@ml.example",), make_notification()
        )
    assert raised.value.retryable


async def test_when_some_recipients_are_refused_the_others_get_it() -> None:
    with smtp_receiver() as receiver:
        await send(
            f"smtp://127.0.0.1:{receiver.port}",
            ("refuse5@ml.example", "ana@ml.example"),
            make_notification(),
        )
    [(envelope, _)] = receiver.messages
    assert envelope.rcpt_tos == ["ana@ml.example"]


async def test_no_server_listening_is_retryable() -> None:
    with pytest.raises(SendError, match=r"cannot reach mail server 127\.0\.0\.1") as raised:
        await send(f"smtp://127.0.0.1:{free_port()}", ("ana@ml.example",), make_notification())
    assert raised.value.retryable


async def test_without_an_smtp_url_e_mail_is_permanently_unavailable() -> None:
    with pytest.raises(SendError, match="TRACKBOARD_SMTP_URL") as raised:
        await send(None, ("ana@ml.example",), make_notification())
    assert not raised.value.retryable


async def test_required_starttls_on_a_server_without_it_is_permanent() -> None:
    with smtp_receiver() as receiver, pytest.raises(SendError, match="STARTTLS") as raised:
        await send(
            f"smtp+starttls://127.0.0.1:{receiver.port}", ("ana@ml.example",), make_notification()
        )
    assert not raised.value.retryable
    assert receiver.messages == []


def test_smtp_urls_give_host_port_security_and_decoded_credentials() -> None:
    plain = parse_smtp_url("smtp://mailer:p%40ss@mail.example")
    assert (plain.host, plain.port, plain.security) == ("mail.example", 25, "opportunistic")
    assert (plain.username, plain.password) == ("mailer", "p@ss")
    assert "p@ss" not in repr(plain)
    starttls = parse_smtp_url("smtp+starttls://mail.example")
    assert (starttls.port, starttls.security) == (587, "starttls")
    tls = parse_smtp_url("smtps://mail.example")
    assert (tls.port, tls.security, tls.username) == (465, "tls", None)
    assert parse_smtp_url("smtps://mail.example:2465").port == 2465


@pytest.mark.parametrize(
    "url", ["http://user:hunter2@mail.example", "smtp://user:hunter2@:25", "smtp://u:hunter2@h:x"]
)
def test_a_bad_smtp_url_is_refused_without_echoing_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL") as raised:
        parse_smtp_url(url)
    assert "hunter2" not in str(raised.value)


async def tls_send(
    smtp_url: str, tls: LoopbackTls, to: tuple[str, ...] = ("ana@ml.example",)
) -> None:
    sender = EmailSender(
        smtp_url=smtp_url, sender="trackboard@ml.example", timeout_s=5, tls_context=tls.client
    )
    await sender.send(EmailTarget(to=to), make_notification())


async def test_smtps_speaks_tls_from_the_start_and_logs_in(tmp_path: Path) -> None:
    tls = loopback_tls(tmp_path)
    with smtp_receiver(implicit_tls=tls.server, credentials=("mailer", "p@ss")) as receiver:
        await tls_send(f"smtps://mailer:p%40ss@127.0.0.1:{receiver.port}", tls)
    assert receiver.logins == ["mailer"]
    assert len(receiver.messages) == 1


@pytest.mark.parametrize("scheme", ["smtp", "smtp+starttls"])
async def test_starttls_is_used_when_the_server_offers_it(tmp_path: Path, scheme: str) -> None:
    tls = loopback_tls(tmp_path)
    # The receiver refuses mail and AUTH before STARTTLS: delivery proves TLS was used.
    with smtp_receiver(starttls=tls.server, credentials=("mailer", "pw")) as receiver:
        await tls_send(f"{scheme}://mailer:pw@127.0.0.1:{receiver.port}", tls)
    assert receiver.logins == ["mailer"]
    assert len(receiver.messages) == 1


async def test_a_wrong_password_is_permanent(tmp_path: Path) -> None:
    tls = loopback_tls(tmp_path)
    with (
        smtp_receiver(starttls=tls.server, credentials=("mailer", "pw")) as receiver,
        pytest.raises(SendError, match="535") as raised,
    ):
        await tls_send(f"smtp://mailer:wrong@127.0.0.1:{receiver.port}", tls)
    assert not raised.value.retryable
    assert "wrong" not in raised.value.reason
    assert receiver.messages == []


async def test_an_untrusted_certificate_is_permanent(tmp_path: Path) -> None:
    tls = loopback_tls(tmp_path)
    with (
        smtp_receiver(implicit_tls=tls.server) as receiver,
        pytest.raises(SendError, match="certificate") as raised,
    ):
        # The system's CAs do not know the receiver's self-signed certificate.
        await send(f"smtps://127.0.0.1:{receiver.port}", ("ana@ml.example",), make_notification())
    assert not raised.value.retryable
