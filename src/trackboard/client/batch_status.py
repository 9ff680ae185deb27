"""Metric batches the server queued (a 202: durable, not yet readable) and waiting for their
commit, so that `flush` and `finish` return once every point sent can be read back.

`GET /runs/{id}/batches` says which ids are committed; asked with `wait_s` it answers as soon
as all are (a long-poll). Ids are asked about oldest first, at most 100 a request. The sender
also drops confirmed ids as it goes (`prune_due`), so a long run does not leave thousands of
them for `finish` to ask about."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time

from trackboard.client.backoff import Backoff
from trackboard.client.transport import TrackboardError, TransientError, Transport

# The server's bounds on one status request.
MAX_IDS_PER_REQUEST = 100
MAX_WAIT_S = 20.0
# One long-poll waits this long at most, so a caller's deadline is checked now and then.
LONG_POLL_S = 10.0
# The sender asks about the ids it holds each time this many more have gathered.
PRUNE_EVERY = 100


class UnconfirmedBatches:
    """Ids of one run's batches that were queued but not yet seen committed; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, None] = {}  # in the order they were sent
        self._next_prune = PRUNE_EVERY

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def add(self, batch_id: str) -> None:
        with self._lock:
            self._ids[batch_id] = None

    def _oldest(self) -> list[str]:
        with self._lock:
            return list(itertools.islice(self._ids, MAX_IDS_PER_REQUEST))

    def check(
        self, transport: Transport, run_id: str, wait_s: float, request_timeout: float
    ) -> bool:
        """Asks about the oldest ids, waiting up to `wait_s` for them; drops those committed.
        True when none is left. Raises TransientError or RequestRejectedError."""
        ids = self._oldest()
        if not ids:
            return True
        wait_s = max(0.0, min(wait_s, MAX_WAIT_S))
        answer = transport.request(
            "GET",
            f"/runs/{run_id}/batches",
            params={"batch_id": ids, "wait_s": round(wait_s, 3)},
            timeout=wait_s + request_timeout,
        )
        committed = answer.get("committed", []) if isinstance(answer, dict) else []
        with self._lock:
            for batch_id in committed:
                self._ids.pop(str(batch_id), None)
            return not self._ids

    def prune_due(self, transport: Transport, run_id: str, request_timeout: float) -> None:
        """Every `PRUNE_EVERY` ids, asks (without waiting) which are committed; a failure
        only means asking again later."""
        with self._lock:
            if len(self._ids) < self._next_prune:
                return
        with contextlib.suppress(TrackboardError):
            self.check(transport, run_id, 0.0, request_timeout)
        with self._lock:
            self._next_prune = len(self._ids) + PRUNE_EVERY

    def wait(
        self, transport: Transport, run_id: str, deadline: float, request_timeout: float
    ) -> bool:
        """Waits until every id is committed (True) or `deadline` (time.monotonic) passes
        (False). A server that is away is retried; RequestRejectedError (the run is gone, or
        the server predates the status route) is raised, since waiting cannot help."""
        backoff = Backoff(base=0.2, cap=2.0)
        while True:
            remaining = deadline - time.monotonic()
            if not self._oldest():
                return True
            if remaining <= 0:
                return False
            before = len(self)
            try:
                if self.check(transport, run_id, min(LONG_POLL_S, remaining), request_timeout):
                    return True
            except TransientError as exc:
                delay = backoff.next_delay(exc.retry_after)
                time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
                continue
            backoff.reset()
            if len(self) == before:
                # The long-poll ran out with nothing new (or the server does not wait).
                time.sleep(max(0.0, min(0.05, deadline - time.monotonic())))
