"""Read-your-writes for this process: the furthest commit position each server has handed
back (header `Trackboard-Read-After`), sent with every later request to that server, so a
server with read replicas serves those requests from a replica only once it has replayed
that far.

Process-wide on purpose: the README's `trackboard.Api()`, made after a run finished, shares
no connection (and no cookie) with the run's sender, yet must read what the run wrote."""

from __future__ import annotations

import threading

HEADER = "Trackboard-Read-After"


def parse_position(text: str) -> int:
    """PostgreSQL's `X/Y` WAL position as one comparable integer; ValueError if it is not."""
    high, low = text.strip().split("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReadPositions:
    """The furthest position seen per server URL; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._furthest: dict[str, tuple[int, str]] = {}

    def note(self, url: str, text: str | None) -> None:
        """Remembers the position a server answered with (a value that does not parse only
        costs replica reads, so it is ignored)."""
        if not text:
            return
        try:
            position = parse_position(text)
        except ValueError:
            return
        with self._lock:
            known = self._furthest.get(url)
            if known is None or position > known[0]:
                self._furthest[url] = (position, text.strip())

    def header(self, url: str) -> str | None:
        """The value to send to `url`, if it ever handed one back."""
        with self._lock:
            known = self._furthest.get(url)
        return None if known is None else known[1]


PROCESS_POSITIONS = ReadPositions()
