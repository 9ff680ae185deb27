"""The gateway in front of every request: who is calling and how fast.

In order: the client address (X-Forwarded-For only from trusted proxies), credentials
(a bad Authorization header is a 401 at once, a 429 once failures locked the account
or address, see `password_gate`; an unknown session cookie just means anonymous), CSRF
for cookie-authenticated writes, the caller's token bucket (429 with Retry-After and
RateLimit-*), then the app; route access is decided after routing by
`authorization.authorize`. Cached reads a write made stale are invalidated by an event
subscriber after its commit (`cache_invalidation`), not here.
"""

import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackboard.server.backends.database import is_unavailable
from trackboard.server.errors import OUTAGE_RETRY_AFTER_S
from trackboard.server.gateway.access_policy import is_read_request
from trackboard.server.gateway.client_address import bucket_address, client_address
from trackboard.server.gateway.error_replies import send_json_error
from trackboard.server.gateway.password_gate import CredentialsLockedError
from trackboard.server.gateway.principal import ANONYMOUS, OPEN_PRINCIPAL, Principal
from trackboard.server.gateway.rate_limit import Verdict
from trackboard.server.gateway.sessions import CSRF_HEADER, SESSION_COOKIE
from trackboard.server.gateway.wiring import Gateway

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/api/v1/auth/login"


class DeniedError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)


def same_origin(origin: str, host: str) -> bool:
    """True if an Origin header names the host the request was sent to."""
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


class GatewayMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        gateway: Gateway | None = getattr(scope["app"].state, "gateway", None)
        if gateway is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        headers = Headers(scope=scope)
        peer = scope.get("client")
        address = client_address(
            peer[0] if peer else None, headers.getlist("x-forwarded-for"), gateway.trusted_proxies
        )
        state["client_address"] = address
        try:
            principal = await self.authenticate(gateway, scope, headers, address)
            state["principal"] = principal
            verdict = await self.limit(gateway, scope, principal, address)
        except DeniedError as denied:
            await self.deny(scope, send, denied)
            return
        await self.app(scope, receive, self.finishing(send, verdict))

    async def authenticate(
        self, gateway: Gateway, scope: Scope, headers: Headers, address: str
    ) -> Principal:
        if not gateway.auth:
            return OPEN_PRINCIPAL
        authorization = headers.get("authorization")
        if authorization:
            try:
                principal = await gateway.authenticator.from_authorization(authorization, address)
            except CredentialsLockedError as locked:
                raise DeniedError(429, locked.code, locked.message, locked.headers) from locked
            except Exception as error:
                if not is_unavailable(error):
                    raise
                # A key not in the credential cache needs the database to be checked.
                raise DeniedError(
                    503,
                    "TEMPORARILY_UNAVAILABLE",
                    "credentials cannot be checked while the database is unreachable or busy",
                    [(b"retry-after", str(OUTAGE_RETRY_AFTER_S).encode())],
                ) from error
            if principal is None:
                raise DeniedError(
                    401,
                    "UNAUTHENTICATED",
                    "invalid, revoked or unsupported credentials",
                    [(b"www-authenticate", b'Bearer realm="trackboard"')],
                )
            return principal
        token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        if token and scope.get("path") != LOGIN_PATH:
            try:
                found = await gateway.authenticator.from_session(token)
            except Exception as error:
                if not is_unavailable(error):
                    raise
                # A session not in the cache needs the database to be checked.
                raise DeniedError(
                    503,
                    "TEMPORARILY_UNAVAILABLE",
                    "the session cannot be checked while the database is unreachable or busy",
                    [(b"retry-after", str(OUTAGE_RETRY_AFTER_S).encode())],
                ) from error
            if found is None:
                return ANONYMOUS  # an expired cookie is not an error; routes ask for credentials
            principal, session = found
            self.check_cookie_request(scope, headers, session.csrf_token)
            return principal
        return ANONYMOUS

    def check_cookie_request(self, scope: Scope, headers: Headers, csrf_token: str) -> None:
        """Cookies ride along on cross-site requests; a session's writes must prove origin."""
        origin = headers.get("origin")
        host = headers.get("host", "")
        if origin is not None and not same_origin(origin, host):
            raise DeniedError(403, "PERMISSION_DENIED", "cross-origin request refused")
        if scope["type"] == "websocket":
            if origin is None:
                raise DeniedError(403, "PERMISSION_DENIED", "websocket without an Origin refused")
            return
        if scope["method"] in SAFE_METHODS:
            return
        presented = headers.get(CSRF_HEADER, "")
        if not presented or not hmac.compare_digest(presented.encode(), csrf_token.encode()):
            raise DeniedError(
                403, "PERMISSION_DENIED", "missing or wrong CSRF token (X-CSRF-Token)"
            )

    async def limit(
        self, gateway: Gateway, scope: Scope, principal: Principal, address: str
    ) -> Verdict | None:
        if gateway.rate_limits is None:
            return None
        identity = principal.rate_limit_id or "ip:" + bucket_address(address)
        method = scope.get("method", "GET")
        verdict = await gateway.rate_limits.take(
            identity, reading=is_read_request(method, scope.get("path", ""))
        )
        if not verdict.grant.allowed:
            raise DeniedError(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                f"rate limit of the {verdict.budget.name} budget exceeded; retry later",
                verdict.headers(),
            )
        return verdict

    def finishing(self, send: Send, verdict: Verdict | None) -> Send:
        """Adds the rate-limit headers to the response."""
        if verdict is None:
            return send

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(verdict.headers())
            await send(message)

        return send_with_limits

    async def deny(self, scope: Scope, send: Send, denied: DeniedError) -> None:
        await send_json_error(
            scope, send, denied.status, denied.code, denied.message, denied.headers
        )
