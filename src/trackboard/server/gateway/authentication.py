"""Turn credentials into a `Principal`: API keys (Bearer, or Basic's password), Basic
username and password (the MLflow client's MLFLOW_TRACKING_USERNAME/PASSWORD), and the
dashboard's session cookie. Passwords are checked through the `PasswordGate`.

What a key or a user may do is cached briefly (`identity_ttl_s`): revoking a key or
changing a membership deletes the cached entry, in Redis for every instance at once.
"""

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from trackboard.server.accounts import credentials
from trackboard.server.accounts import service as accounts
from trackboard.server.accounts.roles import Role
from trackboard.server.backends.cache import Cache, CacheUnavailableError
from trackboard.server.backends.database import Database
from trackboard.server.gateway.password_gate import PasswordGate
from trackboard.server.gateway.principal import Principal
from trackboard.server.gateway.sessions import LoginSession, SessionStore

logger = logging.getLogger(__name__)

# Basic username/password: argon2 per request would cost ~50 ms of CPU, so a verified pair
# is remembered in this process only, under an HMAC with a per-process secret.
PASSWORD_MEMO_TTL_S = 60.0
PASSWORD_MEMO_SIZE = 1024
# Keys are touched (last_used_at) at most this often.
LAST_USED_RESOLUTION_MS = 60_000
# Marks a revoked key or a changed user: cached lookups must not (re)fill the entry.
TOMBSTONE = b"-"
MAX_AUTHORIZATION_LENGTH = 4096


@dataclass(frozen=True)
class BasicPassword:
    username: str
    password: str


def parse_authorization(header: str) -> str | BasicPassword | None:
    """An API key (Bearer, or Basic's password), a Basic username and password, or None
    for anything else."""
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == "bearer":
        return value
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator:
        return None
    if credentials.looks_like_api_key(password):
        return password
    return BasicPassword(username, password)


def key_cache_key(key_hash: str) -> str:
    return "apikey:" + key_hash


def user_cache_key(user_id: int) -> str:
    return f"userroles:{user_id}"


class Authenticator:
    def __init__(
        self,
        database: Database,
        cache: Cache,
        sessions: SessionStore,
        identity_ttl_s: float,
        gate: PasswordGate,
    ) -> None:
        self.database = database
        self.cache = cache
        self.sessions = sessions
        self.identity_ttl_s = identity_ttl_s
        self.gate = gate
        self._memo_secret = secrets.token_bytes(32)
        self._password_memo: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        # Verifications in flight, by memo key.
        self._verifying: dict[bytes, asyncio.Future[int | None]] = {}

    async def _cached(self, key: str) -> dict[str, object] | bytes | None:
        """The cached payload, None on a miss, or `TOMBSTONE`."""
        try:
            raw = await self.cache.get(key)
        except CacheUnavailableError:
            return None
        if raw is None or raw == TOMBSTONE:
            return raw
        return dict(orjson.loads(raw))

    async def _remember(self, key: str, payload: dict[str, object]) -> None:
        # `add`, never `set`: a lookup that read the database before a revocation committed
        # must not overwrite the revocation's tombstone.
        with contextlib.suppress(CacheUnavailableError):
            await self.cache.add(key, orjson.dumps(payload), self.identity_ttl_s)

    async def forget_key(self, key_hash: str) -> None:
        """After a revocation commits: a tombstone makes every instance refuse the key now."""
        await self.cache.set(key_cache_key(key_hash), TOMBSTONE, self.identity_ttl_s * 2 + 1)

    async def forget_user(self, user_id: int) -> None:
        """After a membership change commits: the next request reads the roles afresh."""
        await self.cache.set(user_cache_key(user_id), TOMBSTONE, self.identity_ttl_s * 2 + 1)

    async def from_api_key(self, key: str) -> Principal | None:
        if not credentials.looks_like_api_key(key):
            return None
        key_hash = credentials.hash_api_key(key)
        cached = await self._cached(key_cache_key(key_hash))
        if cached == TOMBSTONE:
            return None
        if not isinstance(cached, dict):
            async with self.database.transaction(write=False) as session:
                identity = await accounts.identify_api_key(session, key)
            if identity is None:
                return None
            now = int(time.time() * 1000)
            if (
                identity.last_used_at is None
                or now - identity.last_used_at > LAST_USED_RESOLUTION_MS
            ):
                await self._touch(identity.key_id)
            cached = {
                "key_id": identity.key_id,
                "prefix": identity.prefix,
                "project_id": identity.project_id,
                "role": identity.role.label,
                "user_id": identity.user_id,
            }
            await self._remember(key_cache_key(key_hash), cached)
        project_id = int(str(cached["project_id"]))
        user_id = cached.get("user_id")
        return Principal(
            kind="api_key",
            name=str(cached["prefix"]),
            roles={project_id: Role.parse(str(cached["role"]))},
            user_id=None if user_id is None else int(str(user_id)),
            key_id=int(str(cached["key_id"])),
            default_project=project_id,
        )

    async def _touch(self, key_id: int) -> None:
        try:
            async with self.database.transaction(write=True) as session:
                await accounts.record_key_use(session, key_id)
        except Exception:  # bookkeeping only: never fail the request for it
            logger.warning("could not record the use of API key %s", key_id, exc_info=True)

    async def for_user(self, user_id: int, kind: str) -> Principal | None:
        cached = await self._cached(user_cache_key(user_id))
        tombstoned = cached == TOMBSTONE
        if not isinstance(cached, dict):
            async with self.database.transaction(write=False) as session:
                user = await accounts.get_user(session, user_id)
                if user is None or user.disabled_at is not None:
                    return None
                roles = await accounts.get_memberships(session, user_id)
            cached = {
                "username": user.username,
                "admin": user.is_admin,
                "roles": {str(p): r.label for p, r in roles.items()},
            }
            if not tombstoned:
                await self._remember(user_cache_key(user_id), cached)
        roles_raw = cached["roles"]
        assert isinstance(roles_raw, dict)
        return Principal(
            kind=kind,
            name=str(cached["username"]),
            roles={int(p): Role.parse(str(r)) for p, r in roles_raw.items()},
            unrestricted=bool(cached["admin"]),
            user_id=user_id,
        )

    async def from_authorization(self, authorization: str, address: str) -> Principal | None:
        """The caller an Authorization header names, else None. Failures spend budgets of
        the `PasswordGate`; `CredentialsLockedError` once the one that applies is empty."""
        credential = parse_authorization(authorization)
        if isinstance(credential, BasicPassword):
            return await self.from_password(credential.username, credential.password, address)
        principal = None if credential is None else await self.from_api_key(credential)
        if principal is None:
            await self.gate.charge_failure(address)
        return principal

    async def from_password(self, username: str, password: str, address: str) -> Principal | None:
        """Basic username and password, through the password gate. A pair verified in the
        last minute is not verified again, but still refused while the account or address
        is locked: else a right guess of a password in use would slip past the lock."""
        memo_key = hmac.new(
            self._memo_secret, f"{username}\0{password}".encode(), hashlib.sha256
        ).digest()
        remembered = self._password_memo.get(memo_key)
        if remembered is not None and remembered[1] > time.monotonic():
            await self.gate.ensure_open(username, address)
            return await self.for_user(remembered[0], "basic")
        pending = self._verifying.get(memo_key)
        if pending is None:
            pending = asyncio.ensure_future(
                self.gate.check(
                    username, address, lambda: self._verify(memo_key, username, password)
                )
            )
            self._verifying[memo_key] = pending
            pending.add_done_callback(lambda done: self._settled(memo_key, done))
        else:
            # The same pair is being verified for a concurrent request (a client's burst
            # when its memo entry expires): share that answer, one argon2 and one token.
            await self.gate.ensure_open(username, address)
        # Shielded: a caller that goes away does not cancel what others wait for.
        user_id = await asyncio.shield(pending)
        return None if user_id is None else await self.for_user(user_id, "basic")

    async def _verify(self, memo_key: bytes, username: str, password: str) -> int | None:
        async with self.database.transaction(write=False) as session:
            user = await accounts.authenticate_user(session, username, password)
        if user is None:
            return None
        self._password_memo[memo_key] = (user.id, time.monotonic() + PASSWORD_MEMO_TTL_S)
        while len(self._password_memo) > PASSWORD_MEMO_SIZE:
            self._password_memo.popitem(last=False)
        return user.id

    def _settled(self, memo_key: bytes, done: "asyncio.Future[int | None]") -> None:
        self._verifying.pop(memo_key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter went away

    async def from_session(self, token: str) -> tuple[Principal, LoginSession] | None:
        """Database errors propagate when neither the cache nor the database can tell."""
        session = await self.sessions.load(token)
        if session is None:
            return None
        principal = await self.for_user(session.user_id, "session")
        return None if principal is None else (principal, session)
