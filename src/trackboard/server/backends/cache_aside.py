"""Cache-aside reads over a `Cache`: versioned keys, single-flight, hit/miss counts.

Invalidation never deletes entries: each cached value is stored under the current
*version token* of the things it was computed from, and a write replaces the token
(after its commit, before its response). Readers then look under the new token, so no
reader after the write's response can meet a value computed before it, whichever
instance cached it. Tokens are random, not counters, so an evicted token can never come
back with an old value's number.

Stampede protection: within a process, one computation per key at a time (the others
await it); across instances, a short lock in the cache lets one compute while the others
poll for its result, and compute themselves only if it does not come in time.
"""

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from trackboard.server.backends.cache import Cache, CacheUnavailableError

logger = logging.getLogger(__name__)

VERSION_PREFIX = "ver:"
LOCK_PREFIX = "lock:"


@dataclass
class CacheStats:
    """Hits and misses per cache name (exported on /metrics)."""

    hits: Counter[str] = field(default_factory=Counter)
    misses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


class ReadThroughCache:
    def __init__(
        self,
        cache: Cache,
        stats: CacheStats | None = None,
        *,
        lock_ttl_s: float = 5.0,
        poll_interval_s: float = 0.01,
    ) -> None:
        self.cache = cache
        self.stats = stats or CacheStats()
        self.lock_ttl_s = lock_ttl_s
        self.poll_interval_s = poll_interval_s
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    async def version(self, scope: str) -> str:
        """The current token of `scope`, created if there is none yet."""
        key = VERSION_PREFIX + scope
        token = await self.cache.get(key)
        if token is None:
            await self.cache.add(key, secrets.token_hex(8).encode(), None)
            token = await self.cache.get(key)
        return (token or b"-").decode()

    async def invalidate(self, scopes: Sequence[str]) -> None:
        """Give each scope a fresh token: everything cached under the old one is unreachable."""
        for scope in scopes:
            await self.cache.set(VERSION_PREFIX + scope, secrets.token_hex(8).encode(), None)

    async def get_or_compute(
        self,
        name: str,
        key: str,
        ttl_s: float,
        compute: Callable[[], Awaitable[bytes]],
        scopes: Sequence[str] = (),
    ) -> bytes:
        """The cached value of `name:key` under the current tokens of `scopes`, else computed."""
        try:
            tokens = [await self.version(scope) for scope in scopes]
            full_key = ":".join([name, *tokens, key])
            value = await self.cache.get(full_key)
        except CacheUnavailableError:
            self.stats.errors[name] += 1
            return await compute()
        if value is not None:
            self.stats.hits[name] += 1
            return value
        self.stats.misses[name] += 1
        pending = self._inflight.get(full_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            value = await self._compute_once(full_key, ttl_s, compute)
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be awaiting: mark the exception retrieved.
            future.exception()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._inflight[full_key]

    async def _compute_once(
        self, full_key: str, ttl_s: float, compute: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        lock_key = LOCK_PREFIX + full_key
        try:
            have_lock = await self.cache.add(lock_key, b"1", self.lock_ttl_s)
        except CacheUnavailableError:
            return await compute()
        if not have_lock:
            # Another instance computes it: wait for its value, up to the lock's lifetime.
            waited = 0.0
            while waited < self.lock_ttl_s:
                await asyncio.sleep(self.poll_interval_s)
                waited += self.poll_interval_s
                try:
                    value = await self.cache.get(full_key)
                except CacheUnavailableError:
                    break
                if value is not None:
                    return value
        try:
            value = await compute()
            try:
                await self.cache.set(full_key, value, ttl_s)
            except CacheUnavailableError:
                logger.warning("cache unavailable: %s not stored", full_key)
            return value
        finally:
            if have_lock:
                with contextlib.suppress(CacheUnavailableError):
                    await self.cache.delete(lock_key)
