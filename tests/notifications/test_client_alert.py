"""`run.alert(...)` from the Python client reaches a rule's webhook once, sent in the
background by the client's sender."""

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

import trackboard
from tests.live_server import live_server
from tests.notifications.receivers import http_receiver


async def test_client_alert_is_delivered_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKBOARD_HOME", str(tmp_path / "client"))
    monkeypatch.setenv("TRACKBOARD_FLUSH_INTERVAL", "0.1")
    env = {
        "TRACKBOARD_NOTIFY_ALLOW_HTTP": "true",
        "TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
        "TRACKBOARD_LOG_JSON": "false",
    }
    async with http_receiver() as receiver:
        with live_server(tmp_path / "server", env) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                created = await client.post(
                    "/api/v1/notification-rules",
                    json={
                        "name": "alerts",
                        "triggers": [{"type": "run.alert"}],
                        "channels": [{"type": "webhook", "url": receiver.url}],
                    },
                )
                assert created.status_code == 201, created.text

            def train() -> str:
                run = trackboard.init("alerts", name="noisy", url=url)
                with pytest.raises(ValueError, match="level"):
                    run.alert("bad level", level="fatal")
                started = time.perf_counter()
                run.alert("loss diverged", "loss = nan at step 12", level="error")
                took = time.perf_counter() - started
                assert took < 0.01, f"alert blocked the training thread for {took:.3f} s"
                run.finish()
                return run.id

            run_id = await asyncio.to_thread(train)
            start = time.monotonic()
            while not receiver.requests:
                assert time.monotonic() - start < 5, "the alert did not arrive"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "run.alert"
    assert body["run_id"] == run_id
    assert body["level"] == "error"
    assert body["text"] == "loss = nan at step 12"
