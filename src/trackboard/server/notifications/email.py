"""The e-mail channel: a plain-text and HTML message sent over SMTP from a worker thread.

`smtp://` uses STARTTLS when the server offers it (and otherwise sends everything, the
password included, in clear), `smtp+starttls://` requires it and `smtps://` speaks TLS from
the start. The `Message-ID` is derived from the delivery id, so a resend after a crash is
the same message to mail clients.
"""

import asyncio
import email.errors
import hashlib
import html
import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal
from urllib.parse import unquote, urlsplit

from trackboard.server.notifications.notification import EmailTarget, Notification, SendError
from trackboard.server.notifications.run_summary import RunSummary, summarize

log = logging.getLogger(__name__)

Security = Literal["opportunistic", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("opportunistic", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
_ID_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,100}")
_DOMAIN = re.compile(r"[A-Za-z0-9.-]{1,200}")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpServer:
    """The server described by a `smtp://`, `smtp+starttls://` or `smtps://` URL; raises
    `ValueError` (without echoing the URL, which may hold a password)."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError("the SMTP URL must start with smtp://, smtp+starttls:// or smtps://")
    security, default_port = _SCHEMES[parts.scheme]
    if not parts.hostname:
        raise ValueError("the SMTP URL has no host")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("the SMTP URL has an invalid port") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        security=security,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _one_line(text: str) -> str:
    # Header values may not contain line breaks; a run name might.
    return " ".join(text.split())


def message_id(delivery_id: str, sender: str) -> str:
    """A `Message-ID` that is the same for every attempt of one delivery."""
    token = delivery_id
    if not _ID_TOKEN.fullmatch(token):
        token = hashlib.sha256(delivery_id.encode()).hexdigest()[:40]
    domain = sender.rpartition("@")[2]
    if not _DOMAIN.fullmatch(domain):
        domain = "trackboard.invalid"
    return f"<trackboard.{token}@{domain}>"


def _fact_lines(summary: RunSummary) -> list[tuple[str, str]]:
    facts = [("Run", summary.name), ("Status", summary.status), ("Trigger", summary.trigger)]
    return [(label, value) for label, value in facts if value is not None]


def plain_text(notification: Notification, summary: RunSummary) -> str:
    lines = [notification.title, ""]
    if notification.text:
        lines += [notification.text, ""]
    lines += [f"{label}: {value}" for label, value in _fact_lines(summary)]
    if summary.metrics:
        lines += ["", "Metrics (latest):"]
        lines += [f"  {key}: {value}" for key, value in summary.metrics]
    if notification.url is not None:
        lines += ["", f"Open in Trackboard: {notification.url}"]
    return "\n".join(lines).strip() + "\n"


def html_text(notification: Notification, summary: RunSummary) -> str:
    """The HTML part; every value is escaped, and only http(s) URLs become links."""
    esc = html.escape
    parts = [f"<h2>{esc(notification.title)}</h2>"]
    if notification.text:
        parts.append(f"<p>{esc(notification.text).replace(chr(10), '<br>')}</p>")
    facts = _fact_lines(summary)
    if facts:
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
        parts.append(f'<table style="text-align:left">{rows}</table>')
    if summary.metrics:
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in summary.metrics)
        parts.append(f"<h3>Metrics (latest)</h3><table>{rows}</table>")
    url = notification.url
    if url is not None and url.startswith(("https://", "http://")):
        parts.append(f'<p><a href="{esc(url)}">Open in Trackboard</a></p>')
    return "<html><body>" + "".join(parts) + "</body></html>\n"


def email_message(
    notification: Notification, *, sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The multipart/alternative message (plain text, then HTML) for `notification`."""
    summary = summarize(notification)
    message = EmailMessage()
    message["Subject"] = _one_line(notification.title)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(notification.delivery_id, sender)
    message["X-Trackboard-Event-Id"] = _one_line(notification.event_id)
    message["X-Trackboard-Delivery-Id"] = _one_line(notification.delivery_id)
    message.set_content(plain_text(notification, summary))
    message.add_alternative(html_text(notification, summary), subtype="html")
    return message


@dataclass(frozen=True)
class _Delivery:
    server: SmtpServer
    context: ssl.SSLContext
    timeout_s: float


def _deliver(
    delivery: _Delivery, message: EmailMessage, sender: str, recipients: list[str]
) -> dict[str, tuple[int, bytes]]:
    # Blocking: runs in a worker thread. `timeout_s` bounds every socket operation.
    server, context, timeout_s = delivery.server, delivery.context, delivery.timeout_s
    smtp: smtplib.SMTP
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout_s)
    try:
        smtp.ehlo()
        if server.security == "starttls" or (
            server.security == "opportunistic" and smtp.has_extn("starttls")
        ):
            smtp.starttls(context=context)
            smtp.ehlo()
        if server.username is not None:
            smtp.login(server.username, server.password or "")
        return smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            # The message was accepted (or not) before QUIT: a failed goodbye changes nothing.
            smtp.close()


def _reply_text(message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    return _one_line(text)[:200]


def _send_error(exc: Exception, host: str) -> SendError:
    """What an SMTP failure amounts to: 4xx replies and network trouble may pass, 5xx won't."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
        replies = "; ".join(
            f"{address}: {code} {_reply_text(reply)}"
            for address, (code, reply) in exc.recipients.items()
        )
        return SendError(f"{host} refused every recipient ({replies})", retryable=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        permanent = 500 <= exc.smtp_code < 600
        return SendError(f"{host} answered {reply}", retryable=not permanent)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendError(f"{host} closed the connection: {exc}", retryable=True)
    if isinstance(exc, smtplib.SMTPException):
        # STARTTLS or AUTH not offered, no usable AUTH method: configuration, not weather.
        return SendError(f"cannot send through {host}: {exc}", retryable=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendError(f"{host}'s TLS certificate: {exc.verify_message}", retryable=False)
    if isinstance(exc, TimeoutError):
        return SendError(f"{host} did not answer in time", retryable=True)
    return SendError(f"cannot reach mail server {host}: {exc}", retryable=True)


class EmailSender:
    """Sends notifications through one SMTP server (or refuses when none is configured)."""

    def __init__(
        self,
        *,
        smtp_url: str | None,
        sender: str,
        timeout_s: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """`tls_context` verifies the server's certificate; the default trusts the system's
        CAs. Raises `ValueError` for an unreadable `smtp_url`."""
        self._delivery = None
        if smtp_url is not None:
            self._delivery = _Delivery(
                server=parse_smtp_url(smtp_url),
                context=tls_context or ssl.create_default_context(),
                timeout_s=timeout_s,
            )
        self._sender = sender

    async def send(self, target: EmailTarget, notification: Notification) -> None:
        """Send `notification` to the target's addresses; raise `SendError` on failure."""
        if self._delivery is None:
            raise SendError("e-mail is not configured (set TRACKBOARD_SMTP_URL)", retryable=False)
        recipients = list(target.to)
        try:
            message = email_message(notification, sender=self._sender, recipients=recipients)
        except (ValueError, email.errors.MessageError) as exc:
            raise SendError(f"cannot build the e-mail: {exc}", retryable=False) from None
        try:
            refused = await asyncio.to_thread(
                _deliver, self._delivery, message, self._sender, recipients
            )
        except OSError as exc:  # smtplib's errors are OSErrors too
            raise _send_error(exc, self._delivery.server.host) from None
        if refused:
            # The others have it: failing the delivery would make a retry send it twice.
            log.warning(
                "e-mail %s not accepted for %d of %d recipients",
                notification.delivery_id,
                len(refused),
                len(recipients),
            )
