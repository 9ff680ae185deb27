"""SQL of the retention purge and thinning: candidates by age, and deletes that cascade.

A purge deletes `runs` and `experiments` rows and lets the foreign keys' ON DELETE CASCADE
(on in SQLite too, see `backends.database`) remove what hangs off them: params, tags,
metric chunks and summaries, applied batch ids, dataset inputs, logged-model links; an
experiment's tags and logged models (with their params, tags and metrics). Every cascade
follows an index whose first column is the parent's id.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, and_, delete, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from trackboard.server.models import (
    Experiment,
    ExperimentTag,
    LoggedModel,
    MetricChunk,
    MetricSummary,
    Run,
)


@dataclass(frozen=True)
class Scope:
    """Which experiments and runs a pass may touch: None means any."""

    experiment_ids: Collection[int] | None = None
    except_experiment_ids: Collection[int] = ()
    run_ids: Collection[str] | None = None

    def runs_where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.experiment_ids is not None:
            conditions.append(Run.experiment_id.in_(list(self.experiment_ids)))
        if self.except_experiment_ids:
            conditions.append(Run.experiment_id.not_in(list(self.except_experiment_ids)))
        if self.run_ids is not None:
            conditions.append(Run.id.in_(list(self.run_ids)))
        return conditions

    def experiments_where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.experiment_ids is not None:
            conditions.append(Experiment.id.in_(list(self.experiment_ids)))
        if self.except_experiment_ids:
            conditions.append(Experiment.id.not_in(list(self.except_experiment_ids)))
        return conditions


def _purgeable_runs(cutoff_ms: int, scope: Scope) -> list[ColumnElement[bool]]:
    return [
        Run.lifecycle_stage == "deleted",
        Run.deleted_at.is_not(None),
        Run.deleted_at < cutoff_ms,
        *scope.runs_where(),
    ]


async def select_purgeable_runs(
    session: AsyncSession, cutoff_ms: int, scope: Scope, limit: int
) -> Sequence[Row[Run, str | None]]:
    """Deleted runs deleted before the cutoff, oldest deletion first, each with its
    experiment's artifact location (where its artifacts are unless it has its own URI)."""
    query = (
        select(Run, Experiment.artifact_location)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(*_purgeable_runs(cutoff_ms, scope))
        .order_by(Run.deleted_at, Run.id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def count_purgeable_runs(
    session: AsyncSession, cutoff_ms: int, scope: Scope
) -> tuple[int, int]:
    """How many runs a purge would remove, and how many metric points they hold."""
    runs = await session.scalar(
        select(func.count()).select_from(Run).where(*_purgeable_runs(cutoff_ms, scope))
    )
    points = await session.scalar(
        select(func.coalesce(func.sum(MetricChunk.point_count), 0))
        .join(Run, Run.id == MetricChunk.run_id)
        .where(*_purgeable_runs(cutoff_ms, scope))
    )
    return int(runs or 0), int(points or 0)


async def count_points_of_purgeable_runs(
    session: AsyncSession, run_ids: Sequence[str], cutoff_ms: int
) -> int:
    """The metric points of those of `run_ids` that `delete_purgeable_runs` would delete."""
    total = await session.scalar(
        select(func.coalesce(func.sum(MetricChunk.point_count), 0))
        .join(Run, Run.id == MetricChunk.run_id)
        .where(Run.id.in_(run_ids), *_purgeable_runs(cutoff_ms, Scope()))
    )
    return int(total or 0)


async def delete_purgeable_runs(
    session: AsyncSession, run_ids: Sequence[str], cutoff_ms: int
) -> int:
    """Delete those of `run_ids` that are still deleted and old enough (a run restored
    since it was selected stays); their rows go with them (cascade)."""
    result = await session.execute(
        delete(Run).where(Run.id.in_(run_ids), *_purgeable_runs(cutoff_ms, Scope()))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _purgeable_experiments(
    cutoff_ms: int, scope: Scope, after_runs: bool = False
) -> list[ColumnElement[bool]]:
    # Its runs go first (they were deleted with it, at the latest when it was); with
    # `after_runs`, runs that a purge of the same cutoff removes do not count.
    runs_left = Run.experiment_id == Experiment.id
    if after_runs:
        runs_left = and_(runs_left, ~and_(*_purgeable_runs(cutoff_ms, Scope())))
    return [
        Experiment.lifecycle_stage == "deleted",
        Experiment.deleted_at.is_not(None),
        Experiment.deleted_at < cutoff_ms,
        # The Default experiment cannot be deleted; never purge it whatever its state.
        Experiment.id != 0,
        # Nor the newest: SQLite gives a new row the highest id + 1 (the table has no
        # AUTOINCREMENT), so purging it would hand its id, and every link and cached
        # decision about it, to the next experiment. It goes once a newer one exists.
        Experiment.id < select(func.max(Experiment.id)).scalar_subquery(),
        ~exists().where(runs_left),
        *scope.experiments_where(),
    ]


async def select_purgeable_experiments(
    session: AsyncSession,
    cutoff_ms: int,
    scope: Scope,
    limit: int | None,
    *,
    after_runs: bool = False,
) -> Sequence[Row[int, str | None]]:
    """(id, artifact_location) of deleted experiments, deleted before the cutoff, that
    have no runs left (with `after_runs`: none that a purge at the cutoff would keep)."""
    query = (
        select(Experiment.id, Experiment.artifact_location)
        .where(*_purgeable_experiments(cutoff_ms, scope, after_runs))
        .order_by(Experiment.id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def select_logged_model_locations(
    session: AsyncSession, experiment_ids: Sequence[int]
) -> Sequence[Row[str, int, str]]:
    """(model id, experiment id, artifact location) of the experiments' logged models."""
    query = select(LoggedModel.id, LoggedModel.experiment_id, LoggedModel.artifact_location)
    return (await session.execute(query.where(LoggedModel.experiment_id.in_(experiment_ids)))).all()


async def delete_purgeable_experiments(
    session: AsyncSession, experiment_ids: Sequence[int], cutoff_ms: int
) -> int:
    result = await session.execute(
        delete(Experiment).where(
            Experiment.id.in_(experiment_ids), *_purgeable_experiments(cutoff_ms, Scope())
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def select_experiment_policy_tags(
    session: AsyncSession, prefix: str
) -> Sequence[Row[int, str, str]]:
    """(experiment id, key, value) of every tag whose key starts with `prefix`."""
    query = select(ExperimentTag.experiment_id, ExperimentTag.key, ExperimentTag.value).where(
        ExperimentTag.key.startswith(prefix, autoescape=True)
    )
    return (await session.execute(query)).all()


def _thinnable_series(cutoff_ms: int, scope: Scope) -> list[ColumnElement[bool]]:
    return [
        # A running run is still being looked at (and written): never thinned.
        Run.status != "RUNNING",
        MetricSummary.last_timestamp < cutoff_ms,
        *scope.runs_where(),
    ]


def _series_query(cutoff_ms: int, scope: Scope, max_points: int) -> Select[str, str, int]:
    points = func.sum(MetricChunk.point_count).label("points")
    return (
        select(MetricChunk.run_id, MetricChunk.key, points)
        .join(Run, Run.id == MetricChunk.run_id)
        .join(
            MetricSummary,
            and_(MetricSummary.run_id == MetricChunk.run_id, MetricSummary.key == MetricChunk.key),
        )
        .where(*_thinnable_series(cutoff_ms, scope))
        .group_by(MetricChunk.run_id, MetricChunk.key)
        .having(points > max_points)
    )


async def select_thinnable_series(
    session: AsyncSession,
    cutoff_ms: int,
    scope: Scope,
    max_points: int,
    after: tuple[str, str] | None,
    limit: int,
) -> Sequence[Row[str, str, int]]:
    """(run_id, key, stored points) of series of runs that are not running, whose newest
    point is older than the cutoff and that hold more than `max_points`, in (run, key)
    order after `after`."""
    query = _series_query(cutoff_ms, scope, max_points)
    if after is not None:
        query = query.where(tuple_(MetricChunk.run_id, MetricChunk.key) > tuple_(*after))
    query = query.order_by(MetricChunk.run_id, MetricChunk.key).limit(limit)
    return (await session.execute(query)).all()


async def count_thinnable_series(
    session: AsyncSession, cutoff_ms: int, scope: Scope, max_points: int
) -> tuple[int, int]:
    """How many series a thinning pass would touch, and how many points they hold."""
    series = _series_query(cutoff_ms, scope, max_points).subquery()
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(series.c.points), 0)).select_from(series)
        )
    ).one()
    return int(row[0]), int(row[1])


async def select_run_lifecycles(
    session: AsyncSession, run_ids: Sequence[str]
) -> Sequence[Row[str, str, int | None]]:
    """(id, lifecycle_stage, deleted_at) of those runs that exist."""
    query = select(Run.id, Run.lifecycle_stage, Run.deleted_at).where(Run.id.in_(run_ids))
    return (await session.execute(query)).all()
