"""Versioned invalidation and stampede protection of `ReadThroughCache`."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests.cache.redis_keys import redis_prefix
from tests.services import REDIS_URL
from trackboard.server.backends.cache import CacheUnavailableError, MemoryCache, RedisCache
from trackboard.server.backends.cache_aside import LAST_KNOWN_MAX_BYTES, ReadThroughCache


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


async def read_exp(reads: ReadThroughCache, source: Source, ttl_s: float) -> bytes:
    """Experiment 1's cached body (as the experiment routes read it)."""
    return (await reads.get_or_compute("exp", "1", ttl_s, source.compute, ["experiment:1"])).body


async def test_a_hit_after_a_miss_and_counts_of_both() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source(0)
    for _ in range(3):
        assert await read_exp(reads, source, 60) == b"v1"
    assert source.calls == 1
    assert reads.stats.hits["exp"] == 2
    assert reads.stats.misses["exp"] == 1


async def test_invalidation_makes_the_next_read_fresh() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source(0)
    await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"])
    source.value = b"v2"
    await reads.invalidate(["experiment:2"])  # another scope: still cached
    assert await read_exp(reads, source, 60) == b"v1"
    await reads.invalidate(["experiment:1"])
    assert await read_exp(reads, source, 60) == b"v2"


async def test_concurrent_misses_compute_once_in_a_process() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source()
    results = await asyncio.gather(
        *(
            reads.get_or_compute("dash", "1", 30, source.compute, ["experiment:1"])
            for _ in range(50)
        )
    )
    assert {result.body for result in results} == {b"v1"}
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
    assert (await reads.get_or_compute("x", "1", 30, source.compute)).body == b"v1"


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
    assert {result.body for result in results} == {b"v1"}
    assert source.calls == 1


async def test_invalidation_on_one_instance_is_seen_by_the_other(
    redis_caches: tuple[RedisCache, RedisCache],
) -> None:
    one, two = (ReadThroughCache(c) for c in redis_caches)
    source = Source(0)
    assert await read_exp(two, source, 300) == b"v1"
    source.value = b"v2"
    await one.invalidate(["experiment:1"])
    assert await read_exp(two, source, 300) == b"v2"


class DownCache(MemoryCache):
    async def get(self, key: str) -> bytes | None:
        raise CacheUnavailableError("down")

    async def add(self, key: str, value: bytes, ttl_s: float | None) -> bool:
        raise CacheUnavailableError("down")


async def test_reads_bypass_a_cache_that_is_down() -> None:
    reads = ReadThroughCache(DownCache())
    source = Source(0)
    assert await read_exp(reads, source, 60) == b"v1"
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


async def test_with_the_database_unreachable_the_last_known_value_stands_in() -> None:
    reads = ReadThroughCache(MemoryCache())
    source = Source(0)
    assert (await reads.get_or_compute("exp", "1", 60, source.compute, ["experiment:1"])).body
    await reads.invalidate(["experiment:1"])  # as a change would: the fresh entry is gone

    async def unreachable() -> bytes:
        raise ConnectionRefusedError("database down")

    stale = await reads.get_or_compute("exp", "1", 60, unreachable, ["experiment:1"])
    assert stale.body == b"v1"
    assert stale.stale_age_s is not None
    assert stale.stale_age_s >= 0
    assert reads.stats.stale["exp"] == 1
    kept = await reads.last_known_or_compute("run", "r", source.compute)
    assert kept.stale_age_s is None
    assert (await reads.last_known_or_compute("run", "r", unreachable)).body == b"v1"


async def test_only_an_outage_is_answered_from_the_last_known_value() -> None:
    reads = ReadThroughCache(MemoryCache())
    await reads.last_known_or_compute("run", "r", Source(0).compute)

    async def refused() -> bytes:
        raise ValueError("not an outage: a bad query")

    async def unreachable() -> bytes:
        raise ConnectionRefusedError("database down")

    with pytest.raises(ValueError, match="bad query"):
        await reads.last_known_or_compute("run", "r", refused)
    with pytest.raises(ConnectionRefusedError):  # never read: nothing to stand in
        await reads.last_known_or_compute("run", "other", unreachable)


async def test_large_values_are_not_kept_for_outages() -> None:
    reads = ReadThroughCache(MemoryCache())
    big = Source(0)
    big.value = b"x" * (LAST_KNOWN_MAX_BYTES + 1)
    await reads.last_known_or_compute("search", "q", big.compute)

    async def unreachable() -> bytes:
        raise ConnectionRefusedError("database down")

    with pytest.raises(ConnectionRefusedError):
        await reads.last_known_or_compute("search", "q", unreachable)


class CountingCache(MemoryCache):
    """The in-process cache, counting the calls that would each be one Redis command."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: Counter[str] = Counter()

    async def get(self, key: str) -> bytes | None:
        self.commands["get"] += 1
        return await super().get(key)

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        self.commands["set"] += 1
        await super().set(key, value, ttl_s)


async def test_an_unchanged_last_known_value_is_not_written_again_until_its_refresh() -> None:
    cache = CountingCache()
    reads = ReadThroughCache(cache, last_known_refresh_s=0.2)
    source = Source(0)
    for _ in range(100):
        await reads.last_known_or_compute("run", "r", source.compute)
    assert cache.commands == {"set": 1}  # was one write per read
    source.value = b"v2"  # changed: written at once
    await reads.last_known_or_compute("run", "r", source.compute)
    assert cache.commands == {"set": 2}
    await asyncio.sleep(0.25)  # unchanged, but due for a refresh (its age and TTL restart)
    await reads.last_known_or_compute("run", "r", source.compute)
    assert cache.commands == {"set": 3}

    async def unreachable() -> bytes:
        raise ConnectionRefusedError("database down")

    stale = await reads.last_known_or_compute("run", "r", unreachable)
    assert stale.body == b"v2"
