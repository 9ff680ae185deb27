"""The SSRF guard: webhook and Slack URLs may only reach public addresses.

A URL is checked when a rule is created (`check_target_url`), and again at every connection
(`GuardedNetworkBackend`): the name is resolved there, every address is checked, and the
socket goes to exactly the address that passed, so a name re-pointed at 127.0.0.1 after the
rule was created (DNS rebinding) is refused at send time.
"""

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

# host, port → the IP addresses to connect to, as text.
Resolver = Callable[[str, int], Awaitable[list[str]]]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# IPv6 prefixes that carry an IPv4 address the traffic ends up at (RFC 6052, RFC 3056).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ALLOW_PRIVATE_HINT = "set TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS=true to allow it"


class TargetRefused(ValueError):
    """A notification target is not acceptable; the message says why (safe to show users)."""


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(embedded)
            return None if reason is None else f"{reason} (IPv4 {embedded} inside IPv6)"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (this includes cloud metadata services)"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def check_addresses(host: str, addresses: Iterable[str], *, allow_private: bool) -> list[str]:
    """The addresses, once every one of them is public (or `allow_private`); else refuse."""
    checked = list(addresses)
    if not checked:
        raise TargetRefused(f"host {host} resolves to no address")
    if allow_private:
        return checked
    for text in checked:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise TargetRefused(f"host {host} resolves to an unreadable address") from None
        reason = address_refusal(address)
        if reason is not None:
            raise TargetRefused(f"host {host} resolves to {text}, {reason}; {_ALLOW_PRIVATE_HINT}")
    return checked


def check_url_shape(url: str, *, allow_http: bool) -> httpx.URL:
    """The parsed URL when its scheme, host and userinfo are acceptable; no resolution."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decodes IDNA, which may fail
    except (httpx.InvalidURL, TypeError, UnicodeError) as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in allowed:
        hint = "" if allow_http else " (set TRACKBOARD_NOTIFY_ALLOW_HTTP=true to allow http://)"
        raise TargetRefused(f"the URL must start with https://{hint}")
    if not host:
        raise TargetRefused("the URL has no host")
    if parsed.userinfo:
        raise TargetRefused("the URL must not contain a user name or password")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise TargetRefused(f"the URL's port {parsed.port} is out of range")
    return parsed


async def check_target_url(
    url: str, *, allow_http: bool, allow_private: bool, resolver: Resolver = resolve_host
) -> str:
    """`url` unchanged when it may be a notification target; raise `TargetRefused` if not.

    Run when a rule is created. A name that does not resolve now is refused too: a target
    nobody can reach is a typo far more often than a host that will exist later."""
    parsed = check_url_shape(url, allow_http=allow_http)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = await resolver(parsed.host, port)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
        raise TargetRefused(f"host {parsed.host} does not resolve ({exc})") from None
    check_addresses(parsed.host, addresses, allow_private=allow_private)
    return url


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves each connection's host itself, checks every address, and connects only to
    the addresses it checked; the name still goes to TLS (SNI, certificate) and `Host`."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve_host,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._backend = backend if backend is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        # The parameter names are httpcore's interface, not a choice.
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except (OSError, UnicodeError) as exc:
            # Not a refusal: resolution failing at send time is usually transient.
            raise httpcore.ConnectError(f"resolving {host} failed: {exc}") from None
        checked = check_addresses(host, addresses, allow_private=self._allow_private)
        last_error: Exception | None = None
        for address in checked:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # check_addresses never returns an empty list
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("notification targets cannot be Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
