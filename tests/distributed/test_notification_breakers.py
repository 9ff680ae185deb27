"""A breaker per notification target: a webhook host that takes connections and never
answers (stalled behind a TCP proxy) costs the send timeout a few times, then its sends
fail at once as retryable (`Retry-After`: the breaker's reset), while another target keeps
receiving at its own pace. Visible in `/readyz` and `/metrics` of the server."""

import time

import pytest

from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import running_app
from tests.notifications.receivers import http_receiver, make_notification
from trackboard.server.config import Settings
from trackboard.server.notifications.notification import SendError, WebhookTarget
from trackboard.server.notifications.senders import Senders

TIMEOUT_S = 0.5


async def test_a_dead_webhook_host_fails_fast_once_its_breaker_opens() -> None:
    async with http_receiver() as dead, http_receiver() as alive:
        proxy = TcpProxy("127.0.0.1", dead.port)
        await proxy.start()
        proxy.stall()
        senders = Senders(
            allow_http=True,
            allow_private=True,
            timeout_s=TIMEOUT_S,
            smtp_url=None,
            smtp_from="trackboard@example.com",
        )
        dead_target = WebhookTarget(url=f"http://127.0.0.1:{proxy.port}/hook")
        alive_target = WebhookTarget(url=f"{alive.url}/hook")
        try:
            costs_s = []
            for _ in range(senders.breakers.settings.failure_threshold + 5):
                started = time.perf_counter()
                with pytest.raises(SendError) as failed:
                    await senders.send(dead_target, make_notification())
                costs_s.append(time.perf_counter() - started)
                assert failed.value.retryable
                await senders.send(alive_target, make_notification())
            threshold = senders.breakers.settings.failure_threshold
            print(
                "dead webhook host: sends cost "
                + ", ".join(f"{cost * 1000:.0f}" for cost in costs_s)
                + " ms"
            )
            assert all(cost < TIMEOUT_S + 0.3 for cost in costs_s[:threshold])
            assert all(cost < 0.05 for cost in costs_s[threshold:])
            assert failed.value.retry_after_s == 30.0  # the reset: the delivery backs off
            assert len(alive.requests) == threshold + 5
            states = {n: b.state.value for n, b in senders.breakers.breakers().items()}
            assert states == {
                f"webhook:127.0.0.1:{proxy.port}": "open",
                f"webhook:127.0.0.1:{alive.port}": "closed",
            }
        finally:
            await senders.aclose()
            await proxy.close()


async def test_target_breakers_are_reported_by_readyz_and_metrics(tmp_path: object) -> None:
    settings = Settings(
        home=tmp_path,  # type: ignore[arg-type]
        log_json=False,
        log_level="CRITICAL",
        notify_allow_http=True,
        notify_allow_private_targets=True,
        notify_send_timeout_s=TIMEOUT_S,
    )
    async with http_receiver(status=503) as failing, running_app(settings) as (app, client):
        target = WebhookTarget(url=f"{failing.url}/hook")
        for _ in range(settings.breaker_failure_threshold):
            with pytest.raises(SendError):
                await app.state.senders.send(target, make_notification())
        name = f"webhook:127.0.0.1:{failing.port}"
        ready = (await client.get("/readyz")).json()["dependencies"]
        assert ready[name] == {
            "up": False,
            "required": False,
            "detail": "breaker open",
            "breaker": "open",
        }
        scraped = (await client.get("/metrics")).text
        assert f'trackboard_circuit_breaker_state{{dependency="{name}"}} 2.0' in scraped
