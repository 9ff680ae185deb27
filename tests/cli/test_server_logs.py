"""Everything a real server writes after its two-line banner is JSON: its own lines and
third parties' (uvicorn's), with no request payload in them."""

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.live_server import live_server


def test_every_server_line_after_the_banner_is_json(tmp_path: Path) -> None:
    home = tmp_path / "server"
    secret = "payload-that-must-not-be-logged"
    with live_server(home, {"TRACKBOARD_LOG_JSON": "true", "TRACKBOARD_LOG_LEVEL": "INFO"}) as url:
        httpx.post(f"{url}/api/v1/experiments", json={"name": secret}, timeout=10)
        httpx.post(f"{url}/api/v1/experiments", content=b"{not json " + secret.encode())
        address = urlsplit(url)
        # Garbage instead of HTTP: uvicorn logs a warning of its own.
        with socket.create_connection((address.hostname, address.port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            raw.recv(1024)
    lines = [line for line in (home / "server.log").read_text().splitlines() if line.strip()]
    assert lines[0].startswith("Trackboard ")
    assert lines[1].startswith("  embedded mode")
    records = [json.loads(line) for line in lines[2:]]
    loggers = {record["logger"] for record in records}
    assert any(name.startswith("trackboard") for name in loggers), loggers
    assert any(name.startswith("uvicorn") for name in loggers), loggers
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert secret not in "\n".join(lines)
