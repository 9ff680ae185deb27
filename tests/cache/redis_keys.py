"""A unique Redis key prefix per test, removed afterwards (tests share one Redis)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from tests.services import REDIS_URL, require_service


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """Fail under CI=true (skip elsewhere) without Redis; delete the prefix's keys after."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"tbtest:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
