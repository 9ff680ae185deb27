"""Dashboard login sessions: kept in the database, cached (Redis when distributed), 24 hours.

The cookie carries a random 256-bit token; the database and the cache know only its
SHA-256, so a dump of either does not yield usable cookies. Each session has its own CSRF
token, which the dashboard reads from a non-HttpOnly cookie and echoes in the
`X-CSRF-Token` header.

The database row is the session; the cache spares a query per request. So a Redis
restarted empty logs nobody out (a miss reads the row and caches it again), and with Redis
down sessions are read from the database. A logout deletes the row and then the cache
entry: if Redis cannot be reached then, the logout fails (503) rather than leave a cached
session alive elsewhere, and the browser, which keeps its cookie, can retry it.
"""

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass

import orjson

from trackboard.server.accounts import service as accounts
from trackboard.server.backends.cache import Cache, CacheUnavailableError
from trackboard.server.backends.database import Database

SESSION_COOKIE = "tb_session"
CSRF_COOKIE = "tb_csrf"
CSRF_HEADER = "x-csrf-token"
MAX_TOKEN_LENGTH = 128
# What a logout leaves in the cache in place of the session (see `SessionStore.delete`).
ENDED = b"ended"


@dataclass(frozen=True)
class LoginSession:
    user_id: int
    csrf_token: str
    expires_at: float  # seconds since the epoch


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(token: str) -> str:
    return "session:" + token_hash(token)


def _encode(session: LoginSession) -> bytes:
    return orjson.dumps(
        {"user_id": session.user_id, "csrf": session.csrf_token, "exp": session.expires_at}
    )


def _decode(raw: bytes) -> LoginSession:
    payload = orjson.loads(raw)
    return LoginSession(int(payload["user_id"]), str(payload["csrf"]), float(payload["exp"]))


class SessionStore:
    def __init__(self, cache: Cache, database: Database, ttl_s: float) -> None:
        self.cache = cache
        self.database = database
        self.ttl_s = ttl_s

    async def create(self, user_id: int) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        session = LoginSession(user_id, secrets.token_urlsafe(32), time.time() + self.ttl_s)
        async with self.database.transaction(write=True) as db:
            await accounts.start_login_session(
                db, token_hash(token), user_id, session.csrf_token, int(session.expires_at * 1000)
            )
        await self._cache(token, session)
        return token, session

    async def load(self, token: str) -> LoginSession | None:
        """The live session of a cookie token: from the cache, else from the database (and
        cached again). Database errors propagate (an outage is the caller's 503)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        with contextlib.suppress(CacheUnavailableError):
            raw = await self.cache.get(session_key(token))
            if raw == ENDED:
                return None
            if raw is not None:
                session = _decode(raw)
                # The TTL expires it; the stored deadline also holds if a cache keeps it.
                return session if session.expires_at > time.time() else None
        async with self.database.transaction(write=False) as db:
            record = await accounts.find_login_session(db, token_hash(token))
        if record is None:
            return None
        session = LoginSession(record.user_id, record.csrf_token, record.expires_at / 1000)
        await self._cache(token, session)
        return session

    async def delete(self, token: str) -> None:
        """End the session everywhere; `CacheUnavailableError` if the cache could not be
        told (the row is gone already: retrying finishes the job).

        The cache entry becomes a marker for the session's lifetime rather than being
        removed: a load that read the row just before it was deleted cannot cache the
        session again (its `add` finds the key taken)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return
        async with self.database.transaction(write=True) as db:
            await accounts.end_login_session(db, token_hash(token))
        await self.cache.set(session_key(token), ENDED, self.ttl_s)

    async def _cache(self, token: str, session: LoginSession) -> None:
        remaining_s = session.expires_at - time.time()
        if remaining_s <= 0:
            return
        # `add`, never `set`: never over a logout's marker.
        with contextlib.suppress(CacheUnavailableError):
            await self.cache.add(session_key(token), _encode(session), remaining_s)
