"""The cache, session and rate-limit store: one `Cache` Protocol, `MemoryCache` and `RedisCache`.

Both hold bytes under string keys with a time to live, can set a key only if it is absent
(locks, version tokens) and run a token bucket atomically (the rate limiter). The
in-process one serves the embedded mode and is the fake in tests; the Redis one is shared
by every instance of the distributed mode.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from trackboard.server.backends.dependency_guard import BreakerSettings, DependencyGuard

T = TypeVar("T")
# Longest wait for one Redis call before the request goes on without it. Loose enough for
# a burst on a cold connection pool; the circuit breaker keeps a stalled Redis from costing
# it more than a few times.
DEADLINE_S = 0.25


class CacheUnavailableError(Exception):
    """The shared store did not answer; callers choose how to degrade."""


@dataclass(frozen=True)
class TokenGrant:
    """What one `take_tokens` call decided."""

    allowed: bool
    remaining: float
    # Seconds until the request would be allowed (0 when it was), and until the bucket is full.
    retry_after_s: float
    reset_s: float


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        """Store `value`; `ttl_s=None` keeps it until evicted or overwritten."""

    async def add(self, key: str, value: bytes, ttl_s: float | None) -> bool:
        """Store `value` only if `key` is absent; True if it was stored."""

    async def delete(self, key: str) -> None: ...

    async def take_tokens(
        self, key: str, rate_per_s: float, capacity: float, cost: float = 1.0
    ) -> TokenGrant:
        """Take `cost` tokens from the bucket `key` atomically, refilled at `rate_per_s`."""

    async def ping(self) -> None:
        """Return when the store answers; raise `CacheUnavailableError` when it does not."""

    async def close(self) -> None: ...


def refill(
    tokens: float, last_s: float, now_s: float, rate_per_s: float, capacity: float, cost: float
) -> tuple[TokenGrant, float]:
    """The token bucket rule, shared by `MemoryCache` and mirrored by the Lua script."""
    tokens = min(capacity, tokens + max(0.0, now_s - last_s) * rate_per_s)
    allowed = tokens >= cost
    if allowed:
        tokens -= cost
    retry_after = 0.0 if allowed else (cost - tokens) / rate_per_s
    reset = (capacity - tokens) / rate_per_s
    return TokenGrant(allowed, tokens, retry_after, reset), tokens


class MemoryCache:
    """An LRU dict with per-entry expiry, for one process (embedded mode, tests)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        # Buckets live apart from the LRU so that cached reads cannot evict a rate limit.
        self._buckets: dict[str, tuple[float, float]] = {}

    def _live(self, key: str, now: float) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def get(self, key: str) -> bytes | None:
        return self._live(key, time.monotonic())

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        expires = math.inf if ttl_s is None else time.monotonic() + ttl_s
        self._entries[key] = (value, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def add(self, key: str, value: bytes, ttl_s: float | None) -> bool:
        if self._live(key, time.monotonic()) is not None:
            return False
        await self.set(key, value, ttl_s)
        return True

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def take_tokens(
        self, key: str, rate_per_s: float, capacity: float, cost: float = 1.0
    ) -> TokenGrant:
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (capacity, now))
        grant, left = refill(tokens, last, now, rate_per_s, capacity, cost)
        self._buckets[key] = (left, now)
        if len(self._buckets) > self.max_entries:
            self._forget_full_buckets(now, rate_per_s, capacity)
        return grant

    def _forget_full_buckets(self, now: float, rate_per_s: float, capacity: float) -> None:
        # A bucket that has refilled completely holds no information: drop it.
        full_after = capacity / rate_per_s
        for key in [k for k, (_, last) in self._buckets.items() if now - last > full_after]:
            del self._buckets[key]

    async def ping(self) -> None:
        return None  # in-process: always there

    async def close(self) -> None:
        self._entries.clear()
        self._buckets.clear()


# One round trip, atomic: refill by elapsed time on Redis's own clock (so instances with
# skewed clocks share one bucket), take `cost` if there is enough, keep the key only while
# the bucket is not full. Numbers travel as strings so Lua keeps their fractions.
TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = capacity
  last = now
end
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
local retry = 0
if allowed == 0 then retry = (cost - tokens) / rate end
return {allowed, tostring(tokens), tostring(retry), tostring((capacity - tokens) / rate)}
"""


class RedisCache:
    """The shared store of the distributed mode; every key carries `prefix`.

    Redis accelerates; it is never worth waiting for. Every call has a deadline
    (`deadline_s`), and after a few failures in a row a circuit breaker refuses calls at
    once, so with Redis stalled or down requests fall back (rate limits per instance,
    caches bypassed) without each waiting out its own timeout. While it is open, a ping in
    the background (never a request) probes Redis every `reset_after_s` and closes it."""

    def __init__(
        self,
        client: "Redis",
        prefix: str = "trackboard:",
        deadline_s: float = DEADLINE_S,
        breaker: BreakerSettings = BreakerSettings(),
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.deadline_s = deadline_s
        self.guard = DependencyGuard(
            breaker.breaker("redis"),
            deadline_s=deadline_s,
            unavailable=CacheUnavailableError,
            is_failure=lambda error: isinstance(error, RedisError | OSError),
            probe=client.ping,
        )
        self.breaker = self.guard.breaker
        self._bucket_script = client.register_script(TOKEN_BUCKET_LUA)

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str = "trackboard:",
        deadline_s: float = DEADLINE_S,
        breaker: BreakerSettings = BreakerSettings(),
    ) -> "RedisCache":
        client = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return cls(client, prefix, deadline_s, breaker)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self.guard.call(operation)
        except (RedisError, OSError) as exc:
            raise CacheUnavailableError(f"redis: {exc!r}") from exc

    async def get(self, key: str) -> bytes | None:
        value = await self._call(lambda: self.client.get(self.prefix + key))
        if value is None:
            return None
        return value if isinstance(value, bytes) else str(value).encode()

    async def set(self, key: str, value: bytes, ttl_s: float | None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        await self._call(lambda: self.client.set(self.prefix + key, value, px=px))

    async def add(self, key: str, value: bytes, ttl_s: float | None) -> bool:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        added = await self._call(lambda: self.client.set(self.prefix + key, value, px=px, nx=True))
        return bool(added)

    async def delete(self, key: str) -> None:
        await self._call(lambda: self.client.delete(self.prefix + key))

    async def take_tokens(
        self, key: str, rate_per_s: float, capacity: float, cost: float = 1.0
    ) -> TokenGrant:
        allowed, tokens, retry, reset = await self._call(
            lambda: self._bucket_script(
                keys=[self.prefix + key], args=[repr(rate_per_s), repr(capacity), repr(cost)]
            )
        )
        return TokenGrant(bool(allowed), float(tokens), float(retry), float(reset))

    async def ping(self) -> None:
        await self._call(self.client.ping)

    async def close(self) -> None:
        self.guard.close()
        await self.client.aclose()


def open_cache(
    redis_url: str | None,
    prefix: str = "trackboard:",
    breaker: BreakerSettings = BreakerSettings(),
) -> Cache:
    """The one place the implementation is chosen: Redis when configured, else in-process."""
    if redis_url:
        return RedisCache.from_url(redis_url, prefix, breaker=breaker)
    return MemoryCache()
