"""SQL for experiments and their tags."""

from collections.abc import Collection, Sequence

from sqlalchemy import BigInteger, column, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import one_of
from trackboard.server.models import Experiment, ExperimentTag, Run
from trackboard.server.models.base import BigIntId

# Kept by the triggers of migrations 0012 and 0014 on every change of `runs`; no code writes
# it, so it has no ORM model. On PostgreSQL an experiment's count is spread over up to 16
# rows (0014), so the count is their sum.
RUN_COUNTS = table(
    "experiment_run_counts",
    column("experiment_id", BigIntId),
    column("runs", BigInteger),
    column("running", BigInteger),
)


async def select_experiment(session: AsyncSession, experiment_id: int) -> Experiment | None:
    return await session.get(Experiment, experiment_id)


async def select_project_id(session: AsyncSession, experiment_id: int) -> int | None:
    """The experiment's project (None: none, or no such experiment), from the session when
    the experiment is loaded there; else one column, not the experiment and its tags."""
    loaded = session.identity_map.get(session.identity_key(Experiment, experiment_id))
    if isinstance(loaded, Experiment):
        return loaded.project_id
    query = select(Experiment.project_id).where(Experiment.id == experiment_id)
    return (await session.execute(query)).scalar_one_or_none()


async def select_active_experiment_by_name(session: AsyncSession, name: str) -> Experiment | None:
    query = select(Experiment).where(
        Experiment.name == name, Experiment.lifecycle_stage == "active"
    )
    return (await session.scalars(query)).first()


async def select_experiments(
    session: AsyncSession,
    *,
    name_contains: str | None,
    lifecycle_stages: Sequence[str],
    after_id: int | None,
    limit: int,
    project_ids: Collection[int] | None = None,
) -> Sequence[Experiment]:
    query = select(Experiment).where(Experiment.lifecycle_stage.in_(lifecycle_stages))
    if project_ids is not None:
        query = query.where(Experiment.project_id.in_(sorted(project_ids)))
    if name_contains:
        query = query.where(
            func.lower(Experiment.name).contains(name_contains.lower(), autoescape=True)
        )
    if after_id is not None:
        query = query.where(Experiment.id > after_id)
    return (await session.scalars(query.order_by(Experiment.id).limit(limit))).all()


async def select_run_counts(
    session: AsyncSession, experiment_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """(active runs, RUNNING runs) of each experiment that has had active runs; a
    primary-key range of at most 16 rows per experiment, whatever the number of runs."""
    if not experiment_ids:
        return {}
    query = (
        select(
            RUN_COUNTS.c.experiment_id,
            func.sum(RUN_COUNTS.c.runs),
            func.sum(RUN_COUNTS.c.running),
        )
        .where(one_of(session, RUN_COUNTS.c.experiment_id, experiment_ids))
        .group_by(RUN_COUNTS.c.experiment_id)
    )
    return {int(e): (int(r), int(n)) for e, r, n in (await session.execute(query)).all()}


async def upsert_experiment_tags(
    session: AsyncSession, experiment: Experiment, tags: dict[str, str]
) -> None:
    existing = {tag.key: tag for tag in experiment.tags}
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            experiment.tags.append(ExperimentTag(key=key, value=value))
    await session.flush()


async def update_runs_lifecycle(
    session: AsyncSession, experiment_id: int, lifecycle_stage: str, deleted_at: int | None
) -> None:
    """Move every run of the experiment; a run deleted before keeps its own deletion time."""
    kept_or_new = func.coalesce(Run.deleted_at, deleted_at) if deleted_at is not None else None
    await session.execute(
        update(Run)
        .where(Run.experiment_id == experiment_id)
        .values(lifecycle_stage=lifecycle_stage, deleted_at=kept_or_new)
    )


async def select_experiments_by_name(session: AsyncSession, name: str) -> Sequence[Experiment]:
    """Every experiment with that name: at most one active, any number deleted."""
    query = (
        select(Experiment)
        .where(Experiment.name == name)
        .order_by(Experiment.lifecycle_stage, Experiment.last_update_time.desc())
    )
    return (await session.scalars(query)).all()


async def delete_experiment_tag(session: AsyncSession, experiment: Experiment, key: str) -> bool:
    """Remove one tag; False when the experiment has no tag with that key."""
    for tag in experiment.tags:
        if tag.key == key:
            experiment.tags.remove(tag)
            await session.flush()
            return True
    return False
