"""The client's address: the TCP peer, or what trusted proxies say in X-Forwarded-For;
and whether the client's connection was TLS (X-Forwarded-Proto from a trusted proxy).

X-Forwarded-For is believed only when the peer is a configured proxy, and then read from
the right, skipping addresses of trusted proxies, so a client cannot choose its address
by sending the header itself. X-Real-IP and Forwarded are ignored. IPv6 clients share one
rate-limit bucket per /64, since one host commonly owns a whole /64.
"""

import ipaddress
from collections.abc import Iterable, Sequence

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Parse proxy addresses or CIDRs; `*` is refused, since it would trust every client."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry == "*":
            raise ValueError("'*' is not allowed in trusted proxies: list the proxies")
        networks.append(ipaddress.ip_network(entry, strict=False))
    return tuple(networks)


def parse_address(text: str) -> IpAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IpAddress | None, proxies: Sequence[IpNetwork]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[IpNetwork]
) -> str:
    """The address to attribute a request to (and to rate-limit anonymous callers by)."""
    current = parse_address(peer) if peer else None
    if not is_trusted(current, proxies):
        return str(current) if current is not None else (peer or "unknown")
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # Garbage in the chain: stop at the last proxy we trust.
            break
        current = address
        if not is_trusted(address, proxies):
            break
    return str(current)


def forwarded_https(
    peer: str | None, forwarded_proto: Sequence[str], proxies: Sequence[IpNetwork]
) -> bool:
    """True when the peer is a trusted proxy whose X-Forwarded-Proto ends in `https`: the
    last value is the one the nearest proxy set or appended. Other peers are not believed."""
    if not is_trusted(parse_address(peer) if peer else None, proxies):
        return False
    values = [value.strip().lower() for header in forwarded_proto for value in header.split(",")]
    return bool(values) and values[-1] == "https"


def bucket_address(address: str) -> str:
    """The rate-limit identity of an address: itself for IPv4, its /64 for IPv6."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address
