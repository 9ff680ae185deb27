"""Dashboard login: POST /api/v1/auth/login sets the session cookies, logout drops them."""

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from trackboard.server.accounts import service as accounts
from trackboard.server.backends.cache import CacheUnavailableError
from trackboard.server.errors import Unavailable
from trackboard.server.gateway.client_address import forwarded_https
from trackboard.server.gateway.denials import UnauthenticatedError
from trackboard.server.gateway.dependencies import CurrentPrincipal, GatewayParts
from trackboard.server.gateway.sessions import CSRF_COOKIE, SESSION_COOKIE
from trackboard.server.gateway.wiring import Gateway
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class Identity(BaseModel):
    name: str
    kind: str
    user_id: int | None
    admin: bool
    projects: dict[int, str]
    csrf_token: str | None = None


def is_tls(request: Request, parts: Gateway) -> bool:
    """Whether the browser reached us over TLS, so the cookies get `Secure`: served over
    https, or a trusted proxy says so; `TRACKBOARD_COOKIE_SECURE` forces it either way."""
    if parts.cookie_secure is not None:
        return parts.cookie_secure
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    proto = request.headers.getlist("x-forwarded-proto")
    return forwarded_https(peer, proto, parts.trusted_proxies)


@router.post("/login")
async def login(
    body: Login, request: Request, response: Response, session: ReadSession, parts: GatewayParts
) -> Identity:
    """Check a username and password; on success set an HttpOnly session cookie (24 h)."""
    address = request.scope.get("state", {}).get("client_address", "unknown")
    # Through the password gate, as Basic auth: failures lock the account and the address.
    user = await parts.password_gate.check(
        body.username,
        address,
        lambda: accounts.authenticate_user(session, body.username, body.password),
    )
    if user is None:
        raise UnauthenticatedError("wrong username or password")
    token, login_session = await parts.sessions.create(user.id)
    secure = is_tls(request, parts)
    max_age = int(parts.sessions.ttl_s)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, secure=secure, samesite="lax"
    )
    # Readable by the dashboard's script, which echoes it in X-CSRF-Token on writes.
    response.set_cookie(
        CSRF_COOKIE,
        login_session.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="lax",
    )
    principal = await parts.authenticator.for_user(user.id, "session")
    roles = {} if principal is None else {p: r.label for p, r in principal.roles.items()}
    return Identity(
        name=user.username,
        kind="session",
        user_id=user.id,
        admin=user.is_admin,
        projects=roles,
        csrf_token=login_session.csrf_token,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, parts: GatewayParts) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            await parts.sessions.delete(token)
        except CacheUnavailableError as exc:
            raise Unavailable("the session cache is unavailable; retry the logout") from exc
    secure = is_tls(request, parts)
    response.delete_cookie(SESSION_COOKIE, secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, secure=secure, samesite="lax")


@router.get("/me")
async def me(principal: CurrentPrincipal) -> Identity:
    return Identity(
        name=principal.name,
        kind=principal.kind,
        user_id=principal.user_id,
        admin=principal.unrestricted,
        projects={p: r.label for p, r in principal.roles.items()},
    )
