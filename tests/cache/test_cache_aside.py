"""Versioned invalidation and stampede protection of `ReadThroughCache`."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.cache.redis_keys import redis_prefix
from tests.services import REDIS_URL
from trackboard.server.backends.cache import CacheUnavailableError, MemoryCache, RedisCache
from trackboard.server.backends.cache_aside import ReadThroughCache


class Source:
    """A slow computation that counts its calls."""

    def __init__(self, delay_s: float = 0.05) -> None:
        self.calls = 0
        self.value = b"v1"
        self.delay_s = delay_s

    async def compute(self) -> bytes:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return self.value


async def test_a_hit_after_a_miss_and_counts_of_both() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source(0)
    for _ in range(3):
        assert await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"]) == b"v1"
    assert source.calls == 1
    assert reads.stats.hits["exp"] == 2
    assert reads.stats.misses["exp"] == 1


async def test_invalidation_makes_the_next_read_fresh() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source(0)
    await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"])
    source.value = b"v2"
    await reads.invalidate(["experiment:2"])  # another scope: still cached
    assert await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"]) == b"v1"
    await reads.invalidate(["experiment:1"])
    assert await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"]) == b"v2"


async def test_concurrent_misses_compute_once_in_a_process() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source()
    results = await asyncio.gather(
        *(
            reads.get_or_compute("dash", "1", 30, source.compute, ["experiment:1"])
            for _ in range(50)
        )
    )
    assert set(results) == {b"v1"}
    assert source.calls == 1


async def test_a_failed_computation_reaches_every_waiter_and_is_not_cached() -> None:
    reads = ReadThroughCache(MemoryCache())

    async def failing() -> bytes:
        await asyncio.sleep(0.02)
        raise LookupError("gone")

    outcomes = await asyncio.gather(
        *(reads.get_or_compute("x", "1", 30, failing) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, LookupError) for o in outcomes)
    source = Source(0)
    assert await reads.get_or_compute("x", "1", 30, source.compute) == b"v1"


@pytest.fixture
async def redis_caches() -> AsyncIterator[tuple[RedisCache, RedisCache]]:
    """Two instances' connections to one Redis, under one test prefix."""
    async with redis_prefix() as prefix:
        first = RedisCache.from_url(REDIS_URL, prefix)
        second = RedisCache.from_url(REDIS_URL, prefix)
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()


async def test_concurrent_misses_compute_once_across_instances(
    redis_caches: tuple[RedisCache, RedisCache],
) -> None:
    one, two = (ReadThroughCache(c) for c in redis_caches)
    source = Source(0.1)
    results = await asyncio.gather(
        *(
            reads.get_or_compute("dash", "1", 30, source.compute, ["experiment:1"])
            for reads in [one, two] * 10
        )
    )
    assert set(results) == {b"v1"}
    assert source.calls == 1


async def test_invalidation_on_one_instance_is_seen_by_the_other(
    redis_caches: tuple[RedisCache, RedisCache],
) -> None:
    one, two = (ReadThroughCache(c) for c in redis_caches)
    source = Source(0)
    assert await two.get_or_compute("exp", "1", 300, source.compute, ["experiment:1"]) == b"v1"
    source.value = b"v2"
    await one.invalidate(["experiment:1"])
    assert await two.get_or_compute("exp", "1", 300, source.compute, ["experiment:1"]) == b"v2"


class DownCache(MemoryCache):
    async def get(self, key: str) -> bytes | None:
        raise CacheUnavailableError("down")

    async def add(self, key: str, value: bytes, ttl_s: float | None) -> bool:
        raise CacheUnavailableError("down")


async def test_reads_bypass_a_cache_that_is_down() -> None:
    reads = ReadThroughCache(DownCache())
    source = Source(0)
    assert await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"]) == b"v1"
    assert reads.stats.errors["exp"] == 1


async def test_redis_down_raises_cache_unavailable() -> None:
    cache = RedisCache.from_url("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(CacheUnavailableError):
            await cache.get("k")
        with pytest.raises(CacheUnavailableError):
            await cache.take_tokens("b", 1, 1)
    finally:
        await cache.close()
