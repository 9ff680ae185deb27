"""Telling a task's own cancellation from a `CancelledError` a client library hands back.

aiormq (under aio_pika) rejects the pending calls of a channel or connection it closes with
`CancelledError`: when the broker closes a channel, when a robust connection reconnects, when
an RPC on the channel timed out elsewhere. The awaiting task was not cancelled, yet it sees
the same exception as a stop. Left to propagate, it silently ends a background loop (the
ingest queue's depth poll, a breaker's probe) and the process stays wedged: the last depth
read or a half-open breaker refuses every later publish.
"""

import asyncio
from typing import NoReturn


def is_stopping() -> bool:
    """Whether the current task itself is being cancelled (by its owner, or a timeout)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def raise_unless_stopping(error: asyncio.CancelledError, unavailable: Exception) -> NoReturn:
    """Raise `error` again while the current task is being stopped; else the caller's
    `unavailable` error (the dependency abandoned the call), caused by it."""
    if is_stopping():
        raise error
    raise unavailable from error
