"""The Redis breaker against a stalled Redis (behind a TCP proxy): once open, calls are
refused at once, a background ping, never a caller, probes, and Redis back closes it."""

import asyncio
import time
import uuid

import pytest

from tests.distributed.conftest import with_port
from tests.distributed.tcp_proxy import TcpProxy
from tests.services import REDIS_URL, require_service
from trackboard.server.backends.cache import CacheUnavailableError, RedisCache
from trackboard.server.backends.circuit_breaker import BreakerState


async def test_an_open_breaker_refuses_at_once_and_a_background_ping_closes_it() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    cache = RedisCache.from_url(
        with_port(REDIS_URL, proxy.port), f"tb-breaker-{uuid.uuid4().hex[:8]}:", deadline_s=0.1
    )
    cache.breaker.reset_after_s = 0.3
    try:
        await cache.set("k", b"v", ttl_s=30)
        proxy.stall()
        for _ in range(cache.breaker.failure_threshold):
            with pytest.raises(CacheUnavailableError):
                await cache.get("k")
        assert cache.breaker.state is BreakerState.OPEN

        await asyncio.sleep(0.4)  # a probe is due: the next caller starts it, not waits on it
        started = time.perf_counter()
        with pytest.raises(CacheUnavailableError):
            await cache.get("k")
        assert time.perf_counter() - started < 0.05
        await asyncio.sleep(0.2)  # the probe timed out in the background: open again
        assert cache.breaker.state is BreakerState.OPEN

        proxy.restore()
        deadline = time.monotonic() + 5
        value = None
        while value is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            try:
                value = await cache.get("k")
            except CacheUnavailableError:
                continue
        assert value == b"v"
        assert cache.breaker.state is BreakerState.CLOSED
        await cache.delete("k")
    finally:
        await cache.close()
        await proxy.close()
