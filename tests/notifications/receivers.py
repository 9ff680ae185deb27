"""Real receivers on loopback for the channel tests: an HTTP server and an SMTP server that
record what they got and answer as each test tells them; and the notification they get."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

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


@dataclass
class SmtpReceiver:
    """Accepts mail, except for recipients whose local part starts with `refuse4` (450)
    or `refuse5` (550)."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    port: int = 0

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
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """An SMTP server (no TLS, no AUTH) on 127.0.0.1 in its own thread."""
    receiver = SmtpReceiver(port=free_port())
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
