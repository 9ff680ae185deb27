"""Runs recently read for the run check of metric writes, dropped when they change.

Every write of points names a run that must exist and be active. Reading it for each call
costs more than the write itself when a call carries one point (MLflow's log-metric), so a
run read from the database serves later calls for `ttl_s`. A committed change to the run
or to its experiment in this process (its `run.*` or `experiment.*` events) drops the entry
at once: a run deleted here refuses points from the next request on. A change committed by
another process (another API instance, a CLI command on the embedded database) is seen
within `ttl_s`. Past `ttl_s` an entry is still kept for the outage grace of
`metrics.service.find_run`.

Runs that writes asked for lately are read again in the background before they expire
(`in_use_and_due`, one query for all of them: `metrics.service.refresh_runs_in_use`): a
client flushes once a second, the lifetime of an entry, so without it nearly every batch
waited for a read of its run (several database round trips, 10-50 ms under the traffic
mix while reads shared the process).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from trackboard.server.events import Event
from trackboard.server.models import Run

MAX_RUNS = 10_000
# A run that a write asked for this recently is kept fresh in the background.
IN_USE_S = 10.0
# At most this many runs are read again in one query.
MAX_REFRESH_RUNS = 1_000


class RunCache:
    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self.max_runs = max_runs
        # run id -> (when it was read, monotonic seconds; the run as read).
        self._runs: dict[str, tuple[float, Run]] = {}
        # Bumped by every invalidation: a read that began before one may have seen the
        # state it replaced, so its result is not kept (see `remember`).
        self.generation = 0
        self._reading: dict[str, asyncio.Future[Run]] = {}
        # run id -> when a write last asked for it (monotonic seconds).
        self._used: dict[str, float] = {}

    def seen(self, run_id: str) -> tuple[float, Run] | None:
        """When the run was last read, and the run as read then."""
        return self._runs.get(run_id)

    def used(self, run_id: str, now: float) -> None:
        """A write asked for this run at `now`: keep it fresh for `IN_USE_S`."""
        self._used[run_id] = now

    def in_use_and_due(self, now: float, older_than_s: float) -> list[str]:
        """Runs asked for within `IN_USE_S` whose entry was read more than `older_than_s`
        ago, the oldest first (at most `MAX_REFRESH_RUNS`); forgets runs no longer in use."""
        due: list[tuple[float, str]] = []
        for run_id, used_at in list(self._used.items()):
            entry = self._runs.get(run_id)
            if entry is None or now - used_at > IN_USE_S:
                del self._used[run_id]
            elif now - entry[0] > older_than_s:
                due.append((entry[0], run_id))
        due.sort()
        return [run_id for _, run_id in due[:MAX_REFRESH_RUNS]]

    async def read_once(self, run_id: str, read: Callable[[], Awaitable[Run]]) -> Run:
        """`read()`, or the read of this run already under way: when an entry expires,
        every concurrent call would otherwise read the run at the same moment. The read is
        a task of its own, so a caller that goes away does not cancel it for the others."""
        task = self._reading.get(run_id)
        if task is None:
            task = asyncio.ensure_future(read())
            self._reading[run_id] = task
            task.add_done_callback(lambda done: self._read_done(run_id, done))
        return await asyncio.shield(task)

    def _read_done(self, run_id: str, task: "asyncio.Future[Run]") -> None:
        if self._reading.get(run_id) is task:
            del self._reading[run_id]
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone away meanwhile

    def remember(self, run: Run, read_at: float, generation: int) -> None:
        """Keep a run read at `read_at` by a lookup that started at `generation`."""
        if generation != self.generation:
            return
        if run.id not in self._runs and len(self._runs) >= self.max_runs:
            self._runs.pop(next(iter(self._runs)))
        self._runs[run.id] = (read_at, run)

    async def on_events(self, events: Sequence[Event]) -> None:
        runs: set[str] = set()
        experiments: set[int] = set()
        for event in events:
            if event.type == "metrics.stored":
                continue  # points change neither the run's state nor its experiment
            if event.type.startswith("experiment.") and event.experiment_id is not None:
                experiments.add(event.experiment_id)
            if event.run_id is not None:
                runs.add(event.run_id)
        if not runs and not experiments:
            return
        self.generation += 1
        for run_id, (_, run) in list(self._runs.items()):
            if run_id in runs or run.experiment_id in experiments:
                del self._runs[run_id]
