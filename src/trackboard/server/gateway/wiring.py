"""The gateway's parts, built once at start-up from the settings and the backends."""

from dataclasses import dataclass

from trackboard.server.backends.cache import Cache
from trackboard.server.backends.cache_aside import ReadThroughCache
from trackboard.server.backends.database import Database
from trackboard.server.config import Settings
from trackboard.server.gateway.authentication import Authenticator
from trackboard.server.gateway.client_address import IpNetwork, parse_networks
from trackboard.server.gateway.password_gate import PasswordGate
from trackboard.server.gateway.rate_limit import Budget, RateLimiter
from trackboard.server.gateway.sessions import SessionStore

# How long what a key or user may do is cached. Revocations delete the entry at once in the
# shared cache; in embedded mode the CLI cannot reach the server's memory, so it is short.
SHARED_IDENTITY_TTL_S = 30.0
LOCAL_IDENTITY_TTL_S = 1.0


@dataclass
class Gateway:
    auth: bool
    rate_limits: RateLimiter | None
    password_gate: PasswordGate
    authenticator: Authenticator
    sessions: SessionStore
    reads: ReadThroughCache
    trusted_proxies: tuple[IpNetwork, ...]
    cookie_secure: bool | None
    database: Database


def build_gateway(
    settings: Settings, database: Database, cache: Cache, reads: ReadThroughCache
) -> Gateway:
    burst = settings.rate_limit_burst
    read = Budget("read", settings.rate_limit_read_per_s, settings.rate_limit_read_per_s * burst)
    ingest = Budget(
        "ingest", settings.rate_limit_ingest_per_s, settings.rate_limit_ingest_per_s * burst
    )
    per_minute = settings.login_attempts_per_min
    login = Budget("login", per_minute / 60.0, per_minute)
    sessions = SessionStore(cache, database, settings.session_ttl_s)
    identity_ttl = LOCAL_IDENTITY_TTL_S if settings.redis_url is None else SHARED_IDENTITY_TTL_S
    # Always on with auth, whatever `rate_limit` says: it is what makes guessing slow.
    password_gate = PasswordGate(RateLimiter(cache, login, login))
    return Gateway(
        auth=settings.auth,
        rate_limits=RateLimiter(cache, read, ingest) if settings.rate_limit_enabled else None,
        password_gate=password_gate,
        authenticator=Authenticator(database, cache, sessions, identity_ttl, password_gate),
        sessions=sessions,
        reads=reads,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        cookie_secure=settings.cookie_secure,
        database=database,
    )
