"""Browser hardening headers on every HTTP response: CSP, no framing, no sniffing, referrers.

The dashboard's policy allows only its own origin: the built app has no inline script or
style element (React and uPlot set styles through the DOM, which `style-src` does not
govern), and `connect-src 'self'` also covers its same-host ws:/wss: socket (CSP level 3).
tests/e2e/test_content_security_policy.py opens every page in Chromium and fails on any
violation. A response that already carries one of these headers keeps its own.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs (Swagger UI) and /redoc pages load their bundles and fonts from CDNs and
# start them with an inline script (Redoc adds inline styles and a blob: worker). They get
# this looser policy rather than bundling copies: those pages show nothing but the server's
# own OpenAPI schema, so inline script there has no user content to abuse; every other
# page, the dashboard included, keeps the strict one.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def policy_for(path: str) -> bytes:
    return (DOCS_POLICY if path in DOCS_PATHS else APP_POLICY).encode()


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in (*COMMON_HEADERS, (b"content-security-policy", policy)):
                    if name not in present:
                        headers.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)
