"""The credential cache as an event subscriber: forget what a committed change made stale.

Runs in the writing process right after the commit, before the response: the cache is
shared (Redis in the distributed mode), so every instance re-reads a member's roles, and
refuses a revoked key, from then on.
"""

import logging
from collections.abc import Sequence
from typing import Protocol

from trackboard.server.backends.cache import CacheUnavailableError
from trackboard.server.events import Event

log = logging.getLogger(__name__)


class CredentialCache(Protocol):
    """What the gateway's authenticator offers: `Authenticator` fits."""

    async def forget_user(self, user_id: int) -> None: ...

    async def forget_key(self, key_hash: str) -> None: ...


class CredentialForgetting:
    def __init__(self, cache: CredentialCache) -> None:
        self.cache = cache

    async def on_events(self, events: Sequence[Event]) -> None:
        for event in events:
            try:
                if event.type == "project.member_changed":
                    await self.cache.forget_user(int(event.data["user_id"]))
                elif event.type == "api_key.revoked" and isinstance(event.local, str):
                    await self.cache.forget_key(event.local)
            except CacheUnavailableError:
                # Cached identities expire on their own (TTL); nothing else to do now.
                log.warning("cache unavailable: %s not applied to credentials", event.type)
