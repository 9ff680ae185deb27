"""Refuses requests a browser can be tricked into sending, whatever the auth mode.

In order: the Host must be allowed (DNS rebinding: a page on evil.example re-pointed at
127.0.0.1 sends `Host: evil.example`); then, for state-changing methods, a cross-site
request without an API key is refused (an `Origin` of another host, or a `Sec-Fetch-Site`
other than `same-origin`/`none`), and a body sent to the API must be declared as
`application/json`, which no cross-site form or no-preflight fetch can declare. WebSocket
handshakes get the Host and the cross-site checks. Non-browser clients send neither
`Origin` nor `Sec-Fetch-Site`, so only the Host and content-type rules concern them.
"""

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from trackboard.server.gateway.error_replies import send_json_error
from trackboard.server.gateway.middleware import same_origin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
API_PREFIXES = ("/api/", "/ajax-api/")
# MLflow's artifact upload: raw file bytes (`mlflow.log_artifact`), not JSON. A PUT always
# needs a CORS preflight, which this server never grants, so no page can send one cross-site.
RAW_BODY_PUT_PREFIX = "/api/2.0/mlflow-artifacts/artifacts/"
# The v1 artifact upload takes raw bytes too, and is a PUT for the same reason.
RAW_BODY_PUT_PATH = re.compile(r"/api/v1/runs/[^/]+/artifacts/.+")
SAME_SITE_FETCH = frozenset({"same-origin", "none"})  # "none": typed URL, bookmark
# A host name or IPv4 address, or a bracketed IPv6 address; then an optional port.
HOST_HEADER = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(?P<port>[0-9]{1,5}))?")


def host_name(host_header: str) -> str | None:
    """The lower-cased name of a Host header without its port; None if it is malformed."""
    match = HOST_HEADER.fullmatch(host_header.strip().lower())
    return match["name"] if match else None


def is_loopback_bind(host: str) -> bool:
    """True for the addresses (or the name) of a server only this machine can reach."""
    text = host.strip().lower().removeprefix("[").removesuffix("]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def normalise_entry(entry: str) -> str:
    """An allowed-hosts entry as `host_name` would read it: lower case, IPv6 in brackets."""
    text = entry.strip().lower()
    try:
        if isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address):
            return f"[{text}]"
    except ValueError:
        pass
    return text


@dataclass(frozen=True)
class HostAllowList:
    """Host names the server answers to, on any port; loopback names are always allowed,
    since a rebinding page always sends its own, non-loopback name."""

    any_host: bool
    names: frozenset[str]
    suffixes: tuple[str, ...]  # from "*.example.com": ".example.com"

    @classmethod
    def from_entries(cls, entries: Iterable[str], bind_host: str) -> "HostAllowList":
        """`entries` from TRACKBOARD_ALLOWED_HOSTS (`*`, names, `*.domain`); when empty, a
        loopback bind allows loopback names only and any other bind allows every host."""
        listed = [normalise_entry(entry) for entry in entries if entry.strip()]
        if not listed and not is_loopback_bind(bind_host):
            listed = ["*"]
        names = set(LOOPBACK_NAMES)
        suffixes = []
        for entry in listed:
            if entry.startswith("*.") and host_name(entry[2:]) == entry[2:]:
                suffixes.append(entry[1:])
            elif entry != "*" and host_name(entry) != entry:
                raise ValueError(f"allowed host {entry!r} is not a host name (list no ports)")
            else:
                names.add(entry)
        return cls("*" in names, frozenset(names), tuple(suffixes))

    def allows(self, name: str) -> bool:
        return self.any_host or name in self.names or name.endswith(self.suffixes)


def cross_site_reason(headers: Headers) -> str | None:
    """Why a request looks sent by another site's page, or None. An API key exempts it:
    browsers never attach one by themselves (unlike cookies and cached Basic credentials)."""
    scheme, _, _ = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return None
    origin = headers.get("origin")
    if origin is not None and not same_origin(origin, headers.get("host", "")):
        return "cross-origin request refused (Origin is another site)"
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_SITE_FETCH:
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:20]})"
    return None


def has_body(headers: Headers) -> bool:
    length = headers.get("content-length", "").strip()
    return "transfer-encoding" in headers or (length not in ("", "0"))


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json`, in any case, with or without parameters (charset): the one rule
    for JSON bodies, used here and by the MLflow message reader."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


def content_type_reason(method: str, path: str, headers: Headers) -> str | None:
    """Why a write to the API may not be read as JSON, or None. A body must be declared
    `application/json` (parameters such as charset allowed); no body needs no type."""
    if not path.startswith(API_PREFIXES):
        return None
    if method == "PUT" and (
        path.startswith(RAW_BODY_PUT_PREFIX) or RAW_BODY_PUT_PATH.fullmatch(path)
    ):
        return None
    content_type = headers.get("content-type")
    if content_type is None and not has_body(headers):
        return None
    if is_json_media_type(content_type):
        return None
    shown = "none" if content_type is None else repr(content_type[:80])
    return f"Bad Request. Content-Type must be 'application/json', got {shown}"


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: HostAllowList) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        name = host_name(headers.get("host", ""))
        if name is None:
            await send_json_error(scope, send, 400, "BAD_REQUEST", "missing or malformed Host")
            return
        if not self.allowed_hosts.allows(name):
            message = f"host {name[:100]!r} is not served here (TRACKBOARD_ALLOWED_HOSTS)"
            await send_json_error(scope, send, 421, "MISDIRECTED_REQUEST", message)
            return
        method = scope.get("method", "GET")
        if scope["type"] == "websocket" or method not in SAFE_METHODS:
            reason = cross_site_reason(headers)
            if reason is not None:
                await send_json_error(scope, send, 403, "PERMISSION_DENIED", reason)
                return
        if scope["type"] == "http" and method not in SAFE_METHODS:
            reason = content_type_reason(method, scope.get("path", ""), headers)
            if reason is not None:
                await send_json_error(scope, send, 400, "INVALID_PARAMETER_VALUE", reason)
                return
        await self.app(scope, receive, send)
