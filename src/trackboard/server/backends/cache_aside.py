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

Degraded mode: each computed value is also kept as the *last known* value of its name and
key, whatever the tokens, for `LAST_KNOWN_TTL_S`. When a computation fails because the
database is unreachable, the last known value is served instead, with its age, and the
caller says so (`Trackboard-Degraded`). Values larger than `LAST_KNOWN_MAX_BYTES` are not
kept: a degraded answer is for pages people are looking at, not bulk reads. A value read
again unchanged is not written again (each process remembers a digest of what it last
wrote) unless `last_known_refresh_s` has passed, so a page polled every second costs Redis
no write per read; its `Age` then counts from the last write, at most that much too old.
"""

import asyncio
import contextlib
import hashlib
import logging
import secrets
import struct
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from trackboard.server.backends.cache import Cache, CacheUnavailableError
from trackboard.server.backends.database import is_outage

logger = logging.getLogger(__name__)

VERSION_PREFIX = "ver:"
LOCK_PREFIX = "lock:"
LAST_KNOWN_PREFIX = "last:"
LAST_KNOWN_TTL_S = 3600.0
LAST_KNOWN_MAX_BYTES = 512 * 1024
# An unchanged last known value is written again after this long; digests of at most
# `LAST_KNOWN_DIGESTS` keys are remembered per process.
LAST_KNOWN_REFRESH_S = 30.0
LAST_KNOWN_DIGESTS = 10_000
# A last known value is stored after the time (seconds since the epoch) it was computed.
_STAMP = struct.Struct("!d")


@dataclass(frozen=True)
class Cached:
    """A read's body; `stale_age_s` is set when it is a last known value served because
    the database could not be reached (how old it is, in seconds)."""

    body: bytes
    stale_age_s: float | None = None


@dataclass
class CacheStats:
    """Hits and misses per cache name (exported on /metrics)."""

    hits: Counter[str] = field(default_factory=Counter)
    misses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)  # last known values served


class ReadThroughCache:
    def __init__(
        self,
        cache: Cache,
        stats: CacheStats | None = None,
        *,
        lock_ttl_s: float = 5.0,
        poll_interval_s: float = 0.01,
        keep_last_known: bool = True,
        last_known_refresh_s: float = LAST_KNOWN_REFRESH_S,
    ) -> None:
        self.cache = cache
        # Off where the database cannot become unreachable (the embedded SQLite file): the
        # copies would only take memory.
        self.keep_last_known = keep_last_known
        self.last_known_refresh_s = last_known_refresh_s
        # Full key → (digest of the value last written there, when: monotonic seconds).
        self._written: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
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
    ) -> Cached:
        """The cached value of `name:key` under the current tokens of `scopes`, else computed
        (else, with the database unreachable, its last known value)."""
        try:
            return Cached(await self._get_or_compute(name, key, ttl_s, compute, scopes))
        except Exception as error:
            return await self._last_known_or_raise(name, key, error)

    async def last_known_or_compute(
        self, name: str, key: str, compute: Callable[[], Awaitable[bytes]]
    ) -> Cached:
        """Computed (never cached: for reads that must be fresh), but kept as the last known
        value, which is served when the database cannot be reached."""
        try:
            value = await compute()
        except Exception as error:
            return await self._last_known_or_raise(name, key, error)
        await self._keep_last_known(name, key, value)
        return Cached(value)

    async def _keep_last_known(self, name: str, key: str, value: bytes) -> None:
        if not self.keep_last_known or len(value) > LAST_KNOWN_MAX_BYTES:
            return
        full_key = f"{LAST_KNOWN_PREFIX}{name}:{key}"
        digest = hashlib.blake2b(value, digest_size=16).digest()
        now = time.monotonic()
        written = self._written.get(full_key)
        if written is not None and written[0] == digest:
            if now - written[1] < self.last_known_refresh_s:
                self._written.move_to_end(full_key)
                return
            del self._written[full_key]
        with contextlib.suppress(CacheUnavailableError):
            stamped = _STAMP.pack(time.time()) + value
            await self.cache.set(full_key, stamped, LAST_KNOWN_TTL_S)
            self._written[full_key] = (digest, now)
            self._written.move_to_end(full_key)
            if len(self._written) > LAST_KNOWN_DIGESTS:
                self._written.popitem(last=False)

    async def _last_known_or_raise(self, name: str, key: str, error: Exception) -> Cached:
        if not is_outage(error):
            raise error
        try:
            stamped = await self.cache.get(f"{LAST_KNOWN_PREFIX}{name}:{key}")
        except CacheUnavailableError:
            stamped = None
        if stamped is None:
            raise error
        (computed_at,) = _STAMP.unpack_from(stamped)
        self.stats.stale[name] += 1
        return Cached(stamped[_STAMP.size :], max(0.0, time.time() - computed_at))

    async def _get_or_compute(
        self,
        name: str,
        key: str,
        ttl_s: float,
        compute: Callable[[], Awaitable[bytes]],
        scopes: Sequence[str],
    ) -> bytes:
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
            await self._keep_last_known(name, key, value)
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
