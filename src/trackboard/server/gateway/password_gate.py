"""The one gate every password check passes: the login route and HTTP Basic alike.

Two failure budgets (`TRACKBOARD_LOGIN_ATTEMPTS_PER_MIN`), one per account and one per
client address, so that neither guessing one account from many addresses nor spraying
many accounts from one address is cheap. A check takes a token from both before the
password is verified, and gives both back when it was right: only failures spend them,
and concurrent guesses cannot overtake the count. While either budget is empty, checks
are refused (429 with Retry-After) without looking at the password, so the right password
is refused too until the account or address has cooled down.

Failed API keys and malformed credentials, which are no account's password, spend a third
budget of the address, apart: a script retrying a revoked key behind a shared NAT address
must not lock everyone's password out, nor valid keys (unguessable) be refused for it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from trackboard.server.gateway.client_address import bucket_address
from trackboard.server.gateway.denials import RateLimitedError
from trackboard.server.gateway.rate_limit import RateLimiter, Verdict

T = TypeVar("T")


class CredentialsLockedError(RateLimitedError):
    """Too many failed checks for this account or from this address: retry later."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        headers = verdict.headers()
        retry = next((int(v) for k, v in headers if k == b"retry-after"), 1)
        super().__init__(f"{message}; retry in {retry} s", retry_after_s=retry)
        self.headers = headers


def account_bucket(username: str) -> str:
    # Case-folded: spellings of one name share a budget, whatever the store compares.
    return "password:user:" + username.casefold()


def address_bucket(address: str) -> str:
    return "password:ip:" + bucket_address(address)


def other_failures_bucket(address: str) -> str:
    return "credential:ip:" + bucket_address(address)


class PasswordGate:
    def __init__(self, limits: RateLimiter) -> None:
        self.limits = limits

    async def _take(self, bucket: str) -> Verdict:
        return await self.limits.take(bucket, reading=True)

    async def _give_back(self, bucket: str) -> None:
        await self.limits.give_back(bucket, reading=True)

    async def check(
        self, username: str, address: str, verify: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        """`verify()` (None: wrong password) if neither budget is empty, else
        `CredentialsLockedError`. A failure keeps the two tokens taken, anything else
        (success, or an error of the store) gives them back."""
        account, origin = account_bucket(username), address_bucket(address)
        verdict = await self._take(account)
        if not verdict.grant.allowed:
            raise CredentialsLockedError("too many failed sign-ins for this account", verdict)
        verdict = await self._take(origin)
        if not verdict.grant.allowed:
            await self._give_back(account)
            raise CredentialsLockedError("too many failed sign-ins from this address", verdict)
        failed = False
        try:
            result = await verify()
            failed = result is None
            return result
        finally:
            if not failed:
                await self._give_back(account)
                await self._give_back(origin)

    async def ensure_open(self, username: str, address: str) -> None:
        """For a password this process verified moments ago: spend nothing, but refuse
        while the account or the address is locked, as a fresh check would."""
        # Both at once: one round trip to Redis on the path every Basic request takes.
        verdicts = await asyncio.gather(
            self.limits.peek(account_bucket(username), reading=True),
            self.limits.peek(address_bucket(address), reading=True),
        )
        for verdict, whose in zip(verdicts, ("for this account", "from this address"), strict=True):
            if not verdict.grant.allowed:
                raise CredentialsLockedError(f"too many failed sign-ins {whose}", verdict)

    async def charge_failure(self, address: str) -> None:
        """A credential that is not an account's password failed (an unknown API key, a
        malformed header): it spends the address's budget of those, refused once that is
        empty."""
        verdict = await self._take(other_failures_bucket(address))
        if not verdict.grant.allowed:
            raise CredentialsLockedError("too many failed authentications", verdict)
