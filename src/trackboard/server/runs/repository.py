"""SQL for runs, params and tags."""

from collections.abc import Collection, Sequence

from sqlalchemy import Row, delete, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import one_of
from trackboard.server.models import AppliedBatch, Experiment, Run, RunParam, RunTag


async def select_run(session: AsyncSession, run_id: str) -> Run | None:
    return await session.get(Run, run_id)


async def select_runs(session: AsyncSession, run_ids: Sequence[str]) -> Sequence[Run]:
    """These runs (any order; ids without a run are absent), in one query."""
    return (
        await session.scalars(select(Run).where(one_of(session, Run.__table__.c.id, run_ids)))
    ).all()


async def select_run_and_project(
    session: AsyncSession, run_id: str
) -> tuple[Run, int | None] | None:
    """The run and its experiment's project, in one query (a change's events carry both)."""
    query = (
        select(Run, Experiment.project_id)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(Run.id == run_id)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


# Plain rows from Core tables, not ORM objects: a page of 1,000 runs loads thousands of
# them, and building tracked instances cost more than the query itself.
KeyValueRow = Row[str, str, str]
PARAMS = RunParam.__table__
TAGS = RunTag.__table__


async def select_params(session: AsyncSession, run_ids: Sequence[str]) -> Sequence[KeyValueRow]:
    """(run_id, key, value) of every param of these runs."""
    query = select(PARAMS.c.run_id, PARAMS.c.key, PARAMS.c.value)
    return (await session.execute(query.where(one_of(session, PARAMS.c.run_id, run_ids)))).all()


async def select_tags(session: AsyncSession, run_ids: Sequence[str]) -> Sequence[KeyValueRow]:
    """(run_id, key, value) of every tag of these runs."""
    query = select(TAGS.c.run_id, TAGS.c.key, TAGS.c.value)
    return (await session.execute(query.where(one_of(session, TAGS.c.run_id, run_ids)))).all()


async def select_params_and_tags(
    session: AsyncSession, run_ids: Sequence[str]
) -> Sequence[Row[str, str, str, str]]:
    """("param" or "tag", run_id, key, value) of every param and tag of these runs, in one
    round trip: a run's document needs both, and the run's own change event waits for it."""
    params = select(literal("param"), PARAMS.c.run_id, PARAMS.c.key, PARAMS.c.value).where(
        one_of(session, PARAMS.c.run_id, run_ids)
    )
    tags = select(literal("tag"), TAGS.c.run_id, TAGS.c.key, TAGS.c.value).where(
        one_of(session, TAGS.c.run_id, run_ids)
    )
    return (await session.execute(union_all(params, tags))).all()


async def select_param_values(
    session: AsyncSession, run_id: str, keys: Sequence[str]
) -> dict[str, str]:
    query = select(RunParam.key, RunParam.value).where(
        RunParam.run_id == run_id, RunParam.key.in_(keys)
    )
    return {row.key: row.value for row in await session.execute(query)}


def insert_params(session: AsyncSession, run_id: str, params: dict[str, str]) -> None:
    session.add_all(RunParam(run_id=run_id, key=k, value=v) for k, v in params.items())


async def insert_params_and_tags(
    session: AsyncSession,
    params: Sequence[tuple[str, str, str]],
    tags: Sequence[tuple[str, str, str]],
) -> None:
    """(run_id, key, value) params and tags of new runs (nothing to read first): one
    bulk insert each for any number of runs, from plain dicts rather than an ORM object
    per row, whose building and flushing cost more than the insert."""
    for target, rows in ((RunParam, params), (RunTag, tags)):
        if rows:
            await session.execute(
                insert(target), [{"run_id": r, "key": k, "value": v} for r, k, v in rows]
            )


async def upsert_tags(session: AsyncSession, run_id: str, tags: dict[str, str]) -> None:
    existing = {
        tag.key: tag
        for tag in await session.scalars(
            select(RunTag).where(RunTag.run_id == run_id, RunTag.key.in_(list(tags)))
        )
    }
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(RunTag(run_id=run_id, key=key, value=value))


async def delete_tag(session: AsyncSession, run_id: str, key: str) -> int:
    result = await session.execute(delete(RunTag).where(RunTag.run_id == run_id, RunTag.key == key))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def select_idle_running_runs(
    session: AsyncSession, experiment_ids: Collection[int] | None, project_id: int | None
) -> list[tuple[Run, int]]:
    """Active RUNNING runs in scope with the server time (ms) of their last stored metric
    write, or their start time when they stored none yet."""
    last_write = (
        select(AppliedBatch.run_id, func.max(AppliedBatch.applied_at).label("at"))
        .group_by(AppliedBatch.run_id)
        .subquery()
    )
    query = (
        select(Run, func.coalesce(last_write.c.at, Run.start_time))
        .outerjoin(last_write, last_write.c.run_id == Run.id)
        .where(Run.status == "RUNNING", Run.lifecycle_stage == "active")
    )
    if experiment_ids is not None:
        query = query.where(Run.experiment_id.in_(list(experiment_ids)))
    if project_id is not None:
        query = query.join(Experiment, Experiment.id == Run.experiment_id).where(
            Experiment.project_id == project_id
        )
    return [(run, int(at)) for run, at in (await session.execute(query)).all()]
