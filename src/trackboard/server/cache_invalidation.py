"""Read-cache invalidation as an event subscriber: committed changes make cached reads stale.

Runs in the writing process right after the commit, before the response: the cache's
version tokens are shared (Redis in the distributed mode), so the writer and every other
instance read the change from then on. Scopes are those the cached reads declare:
`experiments` (experiment lists, with their run counts) and `experiment:<id>` (an
experiment and its dashboard figures). Stored metric points invalidate nothing: metric
figures are eventually consistent (queued ingest, the dashboard figures' TTL).
"""

import logging
from collections.abc import Sequence

from trackboard.server.backends.cache import CacheUnavailableError
from trackboard.server.backends.cache_aside import ReadThroughCache
from trackboard.server.events import Event

log = logging.getLogger(__name__)

EXPERIMENT_LIST_SCOPE = "experiments"
# Changes of an experiment's run counts, which the experiment list shows (`run_count`,
# `active_run_count`).
RUN_COUNT_CHANGES = frozenset({"run.created", "run.status_changed", "run.deleted", "run.restored"})


def experiment_scope(experiment_id: int) -> str:
    return f"experiment:{experiment_id}"


def stale_scopes(events: Sequence[Event]) -> list[str]:
    """The cache scopes the events make stale, each once, in a stable order."""
    scopes: set[str] = set()
    for event in events:
        if event.type == "metrics.stored" or event.experiment_id is None:
            continue
        scopes.add(experiment_scope(event.experiment_id))
        if event.type.startswith("experiment.") or event.type in RUN_COUNT_CHANGES:
            scopes.add(EXPERIMENT_LIST_SCOPE)
    return sorted(scopes)


class CacheInvalidation:
    def __init__(self, reads: ReadThroughCache) -> None:
        self.reads = reads

    async def on_events(self, events: Sequence[Event]) -> None:
        scopes = stale_scopes(events)
        if not scopes:
            return
        try:
            await self.reads.invalidate(scopes)
        except CacheUnavailableError:
            # Reads bypass an unreachable cache, so nothing stale is served meanwhile.
            log.warning("cache unavailable: could not invalidate %s", scopes)
