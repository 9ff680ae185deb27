"""Real receivers on loopback for the channel tests: an HTTP server and an SMTP server that
record what they got and answer as each test tells them; and the notification they get."""

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live_server import free_port
from trackboard.server.notifications.notification import Notification


def make_notification(**overrides: Any) -> Notification:
    """A `metric.threshold` notification about a run with a few metrics."""
    values: dict[str, Any] = {
        "delivery_id": "d-42",
        "event_id": "e-7",
        "kind": "metric.threshold",
        "rule_id": 3,
        "rule_name": "loss too high",
        "title": "Run bright-fox-12: loss above 5",
        "text": "loss = 7.1 > 5 at step 120",
        "level": "warn",
        "occurred_at": 1_790_000_000_000,
        "project_id": 1,
        "experiment_id": 2,
        "run_id": "r1",
        "run": {
            "name": "bright-fox-12",
            "status": "RUNNING",
            "metrics": {
                "accuracy": {"value": 0.912345678, "step": 120},
                "loss": {"value": 7.1, "step": 120},
                "lr": {"value": 0.0001, "step": 120},
            },
        },
        "details": {"key": "loss", "op": ">", "threshold": 5.0, "value": 7.1, "step": 120},
        "url": "https://trackboard.example/runs/r1",
    }
    values.update(overrides)
    return Notification(**values)


class ScriptedResolver:
    """A resolver answering each call with the next list of addresses (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self._answers[min(len(self.calls), len(self._answers)) - 1]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """Answers every request with `status` and `headers`, after `delay_s`."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    requests: list[ReceivedRequest] = field(default_factory=list)
    url: str = ""
    port: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            ReceivedRequest(
                method=request.method,
                path=request.path_qs,
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        if self.delay_s:
            # Released when the receiver stops, so shutting down never waits for it.
            with suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.delay_s)
        return web.Response(status=self.status, headers=self.headers)


@asynccontextmanager
async def http_receiver(
    status: int = 200, headers: dict[str, str] | None = None, delay_s: float = 0.0
) -> AsyncIterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 on a free port; `receiver.url` is its base URL."""
    receiver = HttpReceiver(status=status, headers=headers or {}, delay_s=delay_s)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = int(runner.addresses[0][1])
    receiver.url = f"http://127.0.0.1:{receiver.port}"
    try:
        yield receiver
    finally:
        receiver._release.set()
        await runner.cleanup()


@dataclass(frozen=True)
class LoopbackTls:
    server: ssl.SSLContext  # presents the certificate
    client: ssl.SSLContext  # trusts it


def loopback_tls(directory: Path) -> LoopbackTls:
    """A fresh self-signed certificate for 127.0.0.1 and the two contexts that use it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    (directory / "cert.pem").write_bytes(certificate_pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    client = ssl.create_default_context(cadata=certificate_pem.decode())
    return LoopbackTls(server=server, client=client)


@dataclass
class SmtpReceiver:
    """Accepts mail, except for recipients whose local part starts with `refuse4` (450)
    or `refuse5` (550); with `credentials`, accepts only that login."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    port: int = 0
    credentials: tuple[str, str] | None = None
    logins: list[str] = field(default_factory=list)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login = (data.login.decode(), data.password.decode())
            if login == self.credentials:
                self.logins.append(login[0])
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("refuse4"):
            return "450 4.2.1 mailbox busy, try later"
        if address.startswith("refuse5"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope, message))
        return "250 Message accepted"


@contextmanager
def smtp_receiver(
    *,
    implicit_tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    credentials: tuple[str, str] | None = None,
) -> Iterator[SmtpReceiver]:
    """An SMTP server on 127.0.0.1 in its own thread: TLS from the start with `implicit_tls`;
    with `starttls`, STARTTLS offered and required before mail; AUTH (after TLS) with
    `credentials`."""
    receiver = SmtpReceiver(port=free_port(), credentials=credentials)
    controller = Controller(
        receiver,
        hostname="127.0.0.1",
        port=receiver.port,
        ssl_context=implicit_tls,
        tls_context=starttls,
        require_starttls=starttls is not None,
        authenticator=None if credentials is None else receiver.authenticate,
        # aiosmtpd counts only STARTTLS as TLS; with implicit TLS every command is encrypted.
        auth_require_tls=implicit_tls is None,
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
