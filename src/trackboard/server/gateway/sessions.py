"""Dashboard login sessions, kept in the cache (Redis when distributed) for 24 hours.

The cookie carries a random 256-bit token; the cache key is its SHA-256, so a dump of
the cache does not yield usable cookies. Each session has its own CSRF token, which the
dashboard reads from a non-HttpOnly cookie and echoes in the `X-CSRF-Token` header.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

import orjson

from trackboard.server.backends.cache import Cache

SESSION_COOKIE = "tb_session"
CSRF_COOKIE = "tb_csrf"
CSRF_HEADER = "x-csrf-token"
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class LoginSession:
    user_id: int
    csrf_token: str
    expires_at: float


def session_key(token: str) -> str:
    return "session:" + hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, cache: Cache, ttl_s: float) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    async def create(self, user_id: int) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        session = LoginSession(user_id, secrets.token_urlsafe(32), time.time() + self.ttl_s)
        payload = {"user_id": user_id, "csrf": session.csrf_token, "exp": session.expires_at}
        await self.cache.set(session_key(token), orjson.dumps(payload), self.ttl_s)
        return token, session

    async def load(self, token: str) -> LoginSession | None:
        """The live session of a cookie token; `CacheUnavailableError` if the store is down."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        raw = await self.cache.get(session_key(token))
        if raw is None:
            return None
        payload = orjson.loads(raw)
        session = LoginSession(int(payload["user_id"]), str(payload["csrf"]), float(payload["exp"]))
        # The TTL already expires it; the stored deadline also holds if a cache keeps it.
        return session if session.expires_at > time.time() else None

    async def delete(self, token: str) -> None:
        if token and len(token) <= MAX_TOKEN_LENGTH:
            await self.cache.delete(session_key(token))
