"""JSON log lines with a request id on each, so one request can be followed across logs."""

import contextvars
import logging
import sys
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs: found again and replaced on a second call,
    while handlers others put on the root logger (a test runner's) stay."""


def configure_logging(level: str, as_json: bool) -> None:
    """Every logger's lines (Trackboard's at `level`, third parties' from WARNING: uvicorn,
    aio-pika, SQLAlchemy) go to stderr through one handler, as JSON when `as_json`."""
    handler = OwnHandler(sys.stderr)
    if as_json:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, OwnHandler)] + [handler]
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    ours = logging.getLogger("trackboard")
    ours.handlers.clear()
    ours.setLevel(level)
    ours.propagate = True


class RequestIdMiddleware:
    """Take the caller's X-Request-ID (from nginx) or make one, and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = incoming[:64] or uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", current.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
