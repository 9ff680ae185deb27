"""API keys and password hashes: how secrets are made, stored and checked.

An API key is `tbk_` + an 8-character public id + `_` + 43 characters of secret
(256 random bits). The public part (`tbk_xxxxxxxx`) is stored and shown in lists so a
key can be recognised and revoked; the whole key is stored only as its SHA-256.
A fast hash is enough here, unlike for passwords: with 256 bits of entropy there is
nothing to guess, so a slow KDF would only add latency to every request. Lookup by the
hash of the presented key means no secret is ever compared byte by byte in Python.

Passwords are low-entropy, so they get argon2id (the argon2-cffi defaults: RFC 9106's
low-memory profile), and a verification against a dummy hash when the user is unknown
keeps both cases equally slow.
"""

import functools
import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

KEY_SCHEME = "tbk_"
PUBLIC_ID_LENGTH = 8
SECRET_BYTES = 32
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_ALPHABET = string.ascii_lowercase + string.digits

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not tell usernames
    apart. Made on first use, not at import: a hash is ~0.2 s of CPU every process would
    pay at start, the CLI and the worker included."""
    return _hasher.hash(secrets.token_urlsafe(16))


def new_api_key() -> tuple[str, str, str]:
    """A new key: (the key itself, its public prefix, its SHA-256 hex)."""
    public_id = "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))
    prefix = KEY_SCHEME + public_id
    key = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return key, prefix, hash_api_key(key)


def looks_like_api_key(text: str) -> bool:
    return text.startswith(KEY_SCHEME) and len(text) <= 128


def key_prefix(text: str) -> str:
    return text[: len(KEY_SCHEME) + PUBLIC_ID_LENGTH]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def same_digest(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"passwords have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; always does one argon2 verification."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
