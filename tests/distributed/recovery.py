"""Waiting for the API to serve again once a cut dependency is back: its breaker stays open
until the next background probe (up to `breaker_reset_s`), by design."""

import asyncio
import time

import httpx

from trackboard.server.degraded import DEGRADED_HEADER


async def until_served(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], within_s: float = 10.0
) -> httpx.Response:
    """The first fresh (not degraded) 200 for GET `path`, polled for at most `within_s`;
    else the last answer."""
    deadline = time.monotonic() + within_s
    while True:
        response = await client.get(path, headers=headers)
        fresh = response.status_code == 200 and DEGRADED_HEADER.lower() not in response.headers
        if fresh or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)
