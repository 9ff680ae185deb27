"""One retention pass, planned or done: the entry of `trackboard gc` and of the periodic job.

A `Pass` says what to do within a scope: purge what was deleted before a cutoff, thin
series older than another. `policy_passes` turns the server default and the experiments'
`trackboard.retention.*` tags into passes (one per distinct policy); `trackboard gc` with
explicit ages makes one pass of its own. `plan` counts what a pass would remove and
changes nothing (`--dry-run`); `run` does it.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.backends.database import Database
from trackboard.server.errors import InvalidParameter
from trackboard.server.retention import repository
from trackboard.server.retention.policy import TAG_PREFIX, RetentionPolicy
from trackboard.server.retention.purge import (
    PurgeReport,
    purge_deleted_experiments,
    purge_deleted_runs,
)
from trackboard.server.retention.repository import Scope
from trackboard.server.retention.thinning import ThinningReport, downsample_old_series

log = logging.getLogger(__name__)

PLAN_RUN_IDS = 20


@dataclass(frozen=True)
class Pass:
    scope: Scope
    # Epoch ms: purge what was deleted before it / thin series whose newest point is older.
    purge_before_ms: int | None = None
    thin_before_ms: int | None = None
    max_points: int = RetentionPolicy().max_points


@dataclass(frozen=True)
class Plan:
    runs: int
    points: int
    experiments: int
    series: int
    series_points: int
    # The first runs the purge would remove (oldest deletion first), for a dry run to show.
    first_run_ids: tuple[str, ...] = ()


@dataclass
class Report:
    purge: PurgeReport = field(default_factory=PurgeReport)
    thinning: ThinningReport = field(default_factory=ThinningReport)

    def add(self, other: "Report") -> None:
        for mine, theirs in ((self.purge, other.purge), (self.thinning, other.thinning)):
            for name, value in vars(theirs).items():
                setattr(mine, name, getattr(mine, name) + value)


def policy_of(default: RetentionPolicy, tags: dict[str, str]) -> RetentionPolicy | None:
    """The experiment's policy; None when its tags do not parse (it is then left alone)."""
    try:
        return default.overridden(tags)
    except InvalidParameter as error:
        log.warning("retention tags ignored, experiment left as it is: %s", error.message)
        return None


async def policy_passes(database: Database, default: RetentionPolicy, now_ms: int) -> list[Pass]:
    """The passes that apply the server default and every experiment's override."""
    async with database.transaction(write=False) as session:
        rows = await repository.select_experiment_policy_tags(session, TAG_PREFIX)
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for experiment_id, key, value in rows:
        tags[experiment_id][key] = value
    by_policy: dict[RetentionPolicy, list[int]] = defaultdict(list)
    for experiment_id, experiment_tags in sorted(tags.items()):
        policy = policy_of(default, experiment_tags)
        if policy is not None:
            by_policy[policy].append(experiment_id)
    scopes = [(default, Scope(except_experiment_ids=sorted(tags)))]
    scopes += [(policy, Scope(experiment_ids=ids)) for policy, ids in by_policy.items()]
    passes = []
    for policy, scope in scopes:
        purge, thin = policy.deleted_after_ms, policy.downsample_after_ms
        if purge is None and thin is None:
            continue
        passes.append(
            Pass(
                scope,
                None if purge is None else now_ms - purge,
                None if thin is None else now_ms - thin,
                policy.max_points,
            )
        )
    return passes


async def plan(database: Database, work: Pass) -> Plan:
    runs = points = experiments = series = series_points = 0
    first: tuple[str, ...] = ()
    async with database.transaction(write=False) as session:
        if work.purge_before_ms is not None:
            runs, points = await repository.count_purgeable_runs(
                session, work.purge_before_ms, work.scope
            )
            rows = await repository.select_purgeable_runs(
                session, work.purge_before_ms, work.scope, PLAN_RUN_IDS
            )
            first = tuple(row[0].id for row in rows)
            if work.scope.run_ids is None:
                # As they would be once their runs are gone: deleted experiments whose
                # every run is purgeable.
                experiments = len(
                    await repository.select_purgeable_experiments(
                        session, work.purge_before_ms, work.scope, limit=None, after_runs=True
                    )
                )
        if work.thin_before_ms is not None:
            series, series_points = await repository.count_thinnable_series(
                session, work.thin_before_ms, work.scope, work.max_points
            )
    return Plan(runs, points, experiments, series, series_points, first)


async def refused_run_ids(database: Database, run_ids: Sequence[str], cutoff_ms: int) -> list[str]:
    """Why runs named for a purge cannot go (as MLflow's gc refuses them): missing, not
    deleted, or deleted too recently. Empty when all of them can."""
    async with database.transaction(write=False) as session:
        found = {row[0]: row for row in await repository.select_run_lifecycles(session, run_ids)}
    reasons = []
    for run_id in run_ids:
        row = found.get(run_id)
        if row is None:
            reasons.append(f"run {run_id} does not exist")
        elif row[1] != "deleted":
            reasons.append(f"run {run_id} is not deleted (only deleted runs are purged)")
        elif row[2] is None or row[2] >= cutoff_ms:
            reasons.append(f"run {run_id} was deleted more recently than the cutoff")
    return reasons


Progress = Callable[[str, int], None]


async def run(
    database: Database, store: ArtifactStore, work: Pass, on_progress: Progress | None = None
) -> Report:
    """Purge, then thin (what is purged is not thinned first)."""
    report = Report()

    def progress(what: str) -> Callable[[int], None] | None:
        if on_progress is None:
            return None
        return lambda done: on_progress(what, done)

    if work.purge_before_ms is not None:
        report.purge = await purge_deleted_runs(
            database, store, work.purge_before_ms, work.scope, on_progress=progress("runs")
        )
        if work.scope.run_ids is None:
            experiments = await purge_deleted_experiments(
                database,
                store,
                work.purge_before_ms,
                work.scope,
                on_progress=progress("experiments"),
            )
            report.purge.experiments = experiments.experiments
            report.purge.artifact_folders += experiments.artifact_folders
    if work.thin_before_ms is not None:
        report.thinning = await downsample_old_series(
            database,
            work.thin_before_ms,
            work.max_points,
            work.scope,
            on_progress=progress("series"),
        )
    return report


async def apply_policy(
    database: Database, store: ArtifactStore, default: RetentionPolicy, now_ms: int
) -> Report:
    """Every pass of the policy, one after the other."""
    total = Report()
    for work in await policy_passes(database, default, now_ms):
        total.add(await run(database, store, work))
    return total
