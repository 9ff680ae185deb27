"""`trackboard server` compresses live updates: its WebSocket negotiates permessage-deflate
(kept on purpose, see cli/main.py) and the compressed frames read back as the events."""

import json
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.live_server import live_server


def test_server_websocket_negotiates_permessage_deflate(tmp_path: Path) -> None:
    with live_server(tmp_path / "server") as url:
        created = httpx.post(f"{url}/api/v1/experiments", json={"name": "live"}, timeout=10)
        created.raise_for_status()
        experiment_id = created.json()["id"]
        ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
        with connect(ws_url, open_timeout=10) as socket:
            assert socket.response is not None
            extensions = socket.response.headers.get("Sec-WebSocket-Extensions", "")
            assert extensions.startswith("permessage-deflate"), extensions
            socket.send(json.dumps({"subscribe": {"experiment_id": experiment_id}}))
            message = json.loads(socket.recv(timeout=10))
    assert message == {"event": "subscribed", "topic": {"experiment_id": experiment_id}}
