"""One contract, both implementations: MemoryCache (in-process) and RedisCache."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.cache.redis_keys import redis_prefix
from tests.services import REDIS_URL
from trackboard.server.backends.cache import Cache, MemoryCache, RedisCache


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    async with redis_prefix() as prefix:
        # The contract is about atomicity, not speed: a burst of 100 calls on a cold pool
        # may take longer than the production deadline on a loaded machine.
        redis = RedisCache.from_url(REDIS_URL, prefix, deadline_s=5.0)
        try:
            yield redis
        finally:
            await redis.close()


async def test_values_round_trip_and_expire(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v", 0.2)
    assert await cache.get("k") == b"v"
    await asyncio.sleep(0.3)
    assert await cache.get("k") is None


async def test_values_without_ttl_stay(cache: Cache) -> None:
    await cache.set("k", b"v", None)
    assert await cache.get("k") == b"v"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_add_only_sets_an_absent_key(cache: Cache) -> None:
    assert await cache.add("lock", b"1", 5)
    assert not await cache.add("lock", b"2", 5)
    assert await cache.get("lock") == b"1"
    await cache.delete("lock")
    assert await cache.add("lock", b"3", 5)


async def test_token_bucket_allows_its_capacity_then_refills(cache: Cache) -> None:
    grants = [await cache.take_tokens("bucket", rate_per_s=10, capacity=3) for _ in range(4)]
    assert [g.allowed for g in grants] == [True, True, True, False]
    assert grants[0].remaining == pytest.approx(2, abs=0.1)
    assert grants[3].retry_after_s == pytest.approx(0.1, abs=0.05)
    await asyncio.sleep(0.25)
    assert (await cache.take_tokens("bucket", rate_per_s=10, capacity=3)).allowed


async def test_concurrent_takes_never_exceed_the_bucket(cache: Cache) -> None:
    grants = await asyncio.gather(
        *(cache.take_tokens("shared", rate_per_s=0.001, capacity=25) for _ in range(100))
    )
    assert sum(g.allowed for g in grants) == 25


def test_memory_cache_evicts_the_least_recently_used() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_entries=2)
        await cache.set("a", b"1", None)
        await cache.set("b", b"2", None)
        assert await cache.get("a") == b"1"  # now b is the least recent
        await cache.set("c", b"3", None)
        assert await cache.get("b") is None
        assert await cache.get("a") == b"1"

    asyncio.run(scenario())
