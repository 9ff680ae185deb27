"""The periodic retention job beside the ingest loop (the embedded server's, or each
`trackboard worker`'s): the policy applied every `retention_interval_s`.

Several workers may run it at once: a purge deletes only rows that are still purgeable and
a thinned series is no longer a candidate, so concurrent passes repeat no work's effect.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from trackboard.server.artifacts.opening import open_artifact_store
from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.backends.database import Database
from trackboard.server.config import Settings
from trackboard.server.retention.policy import RetentionPolicy
from trackboard.server.retention.service import apply_policy

log = logging.getLogger(__name__)

# The first pass waits this long after start (or the interval, when shorter): a process
# starting is busy enough, and one that restarts every few minutes still gets a pass.
FIRST_PASS_S = 60.0

OpenStore = Callable[[], AbstractAsyncContextManager[ArtifactStore]]


def default_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy.of_days(
        settings.retention_deleted_days,
        settings.retention_downsample_days,
        settings.retention_max_points,
    )


class RetentionJob:
    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> "RetentionJob":
        return cls(
            database,
            lambda: open_artifact_store(settings),
            default_policy(settings),
            settings.retention_interval_s,
        )

    def __init__(
        self, database: Database, open_store: OpenStore, policy: RetentionPolicy, interval_s: float
    ) -> None:
        self.database = database
        self.open_store = open_store
        self.policy = policy
        self.interval_s = interval_s

    async def run(self) -> None:
        """Apply the policy every interval until cancelled; a failed pass only logs."""
        await asyncio.sleep(min(FIRST_PASS_S, self.interval_s))
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_s)

    async def run_once(self) -> None:
        try:
            async with self.open_store() as store:
                report = await apply_policy(
                    self.database, store, self.policy, int(time.time() * 1000)
                )
        except Exception as error:
            log.warning("retention pass failed, next one in %.0f s: %r", self.interval_s, error)
            return
        purge, thinning = report.purge, report.thinning
        if purge.runs or purge.experiments or thinning.series:
            log.info(
                "retention: purged %d runs (%d points), %d experiments, %d artifact folders; "
                "thinned %d series from %d to %d points",
                purge.runs,
                purge.points,
                purge.experiments,
                purge.artifact_folders,
                thinning.series,
                thinning.points_before,
                thinning.points_after,
            )
