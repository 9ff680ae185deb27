"""Read-your-writes across replicas: a write's commit position travels back to the client
(cookie `tb_read_after`, header `Trackboard-Read-After`), and the client's next reads carry
it, so they go to a replica only once it has replayed that far.

Browsers and cookie-keeping clients (httpx, requests sessions) do this on their own; other
clients may copy the header into their next request.
"""

from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackboard.server.backends.replicas import format_lsn, parse_lsn

COOKIE = "tb_read_after"
HEADER = b"trackboard-read-after"
# Long enough for any replica within the lag bound to catch up.
COOKIE_MAX_AGE_S = 60


def _incoming_position(scope: Scope) -> int | None:
    headers = dict(scope["headers"])
    raw = headers.get(HEADER, b"").decode("latin-1")
    if not raw and b"cookie" in headers:
        morsel = SimpleCookie(headers[b"cookie"].decode("latin-1")).get(COOKIE)
        raw = morsel.value if morsel is not None else ""
    try:
        return parse_lsn(raw) if raw else None
    except ValueError:
        return None  # a mangled value only costs a read from the primary


class ReadYourWritesMiddleware:
    """Puts the client's position in `request.state.read_after`, and hands back the
    position a write left in `request.state.commit_position`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["read_after"] = _incoming_position(scope)

        async def send_with_position(message: Message) -> None:
            position = state.get("commit_position")
            if message["type"] == "http.response.start" and position is not None:
                value = format_lsn(position)
                cookie = f"{COOKIE}={value}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; SameSite=Lax"
                message["headers"] = [
                    *message.get("headers", []),
                    (HEADER, value.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                ]
            await send(message)

        await self.app(scope, receive, send_with_position)
