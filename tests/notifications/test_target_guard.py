"""The SSRF guard, at rule creation and inside every connection."""

import socket
from collections.abc import Iterable

import httpcore
import pytest

from tests.notifications.receivers import ScriptedResolver, http_receiver
from trackboard.server.notifications.guarded_transport import guarded_client
from trackboard.server.notifications.target_guard import (
    GuardedNetworkBackend,
    TargetRefused,
    check_target_url,
)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records where connections go and answers each with an empty 200."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return httpcore.AsyncMockStream([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.5/",
        "http://[::1]/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
    ],
)
async def test_non_public_addresses_are_refused_at_creation(url: str) -> None:
    with pytest.raises(TargetRefused, match="resolves to"):
        await check_target_url(url, allow_http=True, allow_private=False)


async def test_the_metadata_address_is_named_link_local() -> None:
    with pytest.raises(TargetRefused, match=r"link-local.*metadata"):
        await check_target_url("https://169.254.169.254/", allow_http=False, allow_private=False)


async def test_a_mapped_ipv6_address_names_the_ipv4_inside() -> None:
    with pytest.raises(TargetRefused, match=r"private address \(IPv4 10\.0\.0\.1 inside IPv6\)"):
        await check_target_url("https://[::ffff:10.0.0.1]/", allow_http=False, allow_private=False)


async def test_plain_http_is_refused_unless_allowed() -> None:
    public = ScriptedResolver(["93.184.215.14"])
    with pytest.raises(TargetRefused, match="https://"):
        await check_target_url(
            "http://hooks.example.com/x", allow_http=False, allow_private=False, resolver=public
        )
    url = "http://hooks.example.com/x"
    assert await check_target_url(url, allow_http=True, allow_private=False, resolver=public) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https:///no-host", "no host"),
        ("ftp://hooks.example.com/", "https://"),
        ("hooks.example.com/x", "https://"),
        ("https://hooks.example.com:99999/", "port 99999 is out of range"),
        ("https://xn--/", "not a valid URL"),
    ],
)
async def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    public = ScriptedResolver(["93.184.215.14"])
    with pytest.raises(TargetRefused, match=reason):
        await check_target_url(url, allow_http=True, allow_private=False, resolver=public)
    assert public.calls == []


async def test_a_public_name_is_accepted() -> None:
    public = ScriptedResolver(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    url = "https://hooks.example.com/services/T0/B0/x"
    assert await check_target_url(url, allow_http=False, allow_private=False, resolver=public)
    assert public.calls == [("hooks.example.com", 443)]


async def test_one_private_address_among_public_ones_is_refused() -> None:
    mixed = ScriptedResolver(["93.184.215.14", "10.0.0.8"])
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.8, a private address"):
        await check_target_url(
            "https://hooks.example.com/", allow_http=False, allow_private=False, resolver=mixed
        )


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def unknown(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_target_url(
            "https://typo.example.com/", allow_http=False, allow_private=False, resolver=unknown
        )


async def test_a_name_idna_cannot_encode_is_refused_as_not_resolving() -> None:
    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_target_url(f"https://{'a' * 70}.com/", allow_http=False, allow_private=False)


async def test_loopback_is_accepted_when_both_settings_allow_it() -> None:
    url = "http://127.0.0.1:9/hook"
    assert await check_target_url(url, allow_http=True, allow_private=True) == url


async def test_a_name_rebound_to_loopback_after_creation_is_refused_at_connection() -> None:
    rebinding = ScriptedResolver(["93.184.215.14"], ["127.0.0.1"])
    url = "https://rebind.example.com/hook"
    await check_target_url(url, allow_http=False, allow_private=False, resolver=rebinding)
    recording = RecordingBackend()
    backend = GuardedNetworkBackend(allow_private=False, resolver=rebinding, backend=recording)

    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1, a loopback address"):
        await backend.connect_tcp("rebind.example.com", 443)

    assert recording.connected == []


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    rebinding = ScriptedResolver(["93.184.215.14"], ["127.0.0.1"])
    recording = RecordingBackend()
    async with guarded_client(
        allow_private=False, timeout_s=5, resolver=rebinding, network_backend=recording
    ) as client:
        response = await client.post("http://rebind.example.com/hook", content=b"{}")
        assert response.status_code == 200
        assert recording.connected == [("93.184.215.14", 80)]

        with pytest.raises(TargetRefused):
            # Another host needs a new connection, which resolves again.
            await client.post("http://other.example.com/hook", content=b"{}")
    assert recording.connected == [("93.184.215.14", 80)]


async def test_the_guarded_client_keeps_the_name_in_the_host_header() -> None:
    local = ScriptedResolver(["127.0.0.1"])
    async with (
        http_receiver() as receiver,
        guarded_client(allow_private=True, timeout_s=5, resolver=local) as client,
    ):
        response = await client.post(f"http://receiver.test:{receiver.port}/hook", content=b"{}")
    assert response.status_code == 200
    assert receiver.requests[0].headers["Host"] == f"receiver.test:{receiver.port}"
    assert local.calls == [("receiver.test", receiver.port)]
