"""Token buckets per API key or user (per client address when anonymous), two budgets.

Reads and writes spend separate budgets so a burst of metric ingestion cannot starve the
dashboard. The buckets live in the cache (atomic Lua in Redis, so the limit holds across
instances). If Redis fails, each instance falls back to its own in-memory buckets: the
limit then holds per instance instead of across them, and requests do not fail.
"""

import logging
import math
from dataclasses import dataclass

from trackboard.server.backends.cache import Cache, CacheUnavailableError, MemoryCache, TokenGrant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    name: str
    rate_per_s: float
    capacity: float


@dataclass(frozen=True)
class Verdict:
    budget: Budget
    grant: TokenGrant

    def headers(self) -> list[tuple[bytes, bytes]]:
        """RateLimit-* (IETF draft) on every limited response, Retry-After on a 429."""
        window = max(1, math.ceil(self.budget.capacity / self.budget.rate_per_s))
        headers = [
            (b"ratelimit-limit", str(int(self.budget.capacity)).encode()),
            (b"ratelimit-remaining", str(max(0, math.floor(self.grant.remaining))).encode()),
            (b"ratelimit-reset", str(max(0, math.ceil(self.grant.reset_s))).encode()),
            (
                b"ratelimit-policy",
                f'{int(self.budget.capacity)};w={window};name="{self.budget.name}"'.encode(),
            ),
        ]
        if not self.grant.allowed:
            headers.append(
                (b"retry-after", str(max(1, math.ceil(self.grant.retry_after_s))).encode())
            )
        return headers


class RateLimiter:
    def __init__(self, cache: Cache, read: Budget, ingest: Budget) -> None:
        self.cache = cache
        self.read = read
        self.ingest = ingest
        self._fallback = MemoryCache()

    async def take(self, identity: str, *, reading: bool, cost: float = 1.0) -> Verdict:
        budget = self.read if reading else self.ingest
        key = f"rl:{budget.name}:{identity}"
        try:
            grant = await self.cache.take_tokens(key, budget.rate_per_s, budget.capacity, cost)
        except CacheUnavailableError as exc:
            logger.warning("rate limits fall back to this instance: %s", exc)
            grant = await self._fallback.take_tokens(key, budget.rate_per_s, budget.capacity, cost)
        return Verdict(budget, grant)

    async def peek(self, identity: str, *, reading: bool) -> Verdict:
        """Whether a token could be taken now, without taking one."""
        verdict = await self.take(identity, reading=reading, cost=0.0)
        grant = verdict.grant
        if grant.remaining >= 1.0:
            return verdict
        wait = (1.0 - grant.remaining) / verdict.budget.rate_per_s
        return Verdict(verdict.budget, TokenGrant(False, grant.remaining, wait, grant.reset_s))

    async def give_back(self, identity: str, *, reading: bool) -> None:
        """Return a token taken for something that did not count against the budget. The
        bucket may then hold one token over its capacity, until its next refill caps it."""
        await self.take(identity, reading=reading, cost=-1.0)
