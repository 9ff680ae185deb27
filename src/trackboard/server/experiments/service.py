"""Experiment rules: unique active names, tag merging, soft delete that takes the runs along.

Every change records an `experiment.*` event carrying the experiment as the API returns it
(`events`); a call that changes nothing records none, and deleting or restoring an
experiment records no event per run it takes along.
"""

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.clock import now_ms
from trackboard.server.errors import AlreadyExists, InvalidParameter, NotFound
from trackboard.server.events import Event, EventType, record
from trackboard.server.experiments import repository
from trackboard.server.experiments.schemas import (
    ExperimentListItem,
    ExperimentRead,
    LifecycleFilter,
)
from trackboard.server.limits import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    check_key,
    check_value_length,
)
from trackboard.server.models import Experiment, ExperimentTag
from trackboard.server.retention.policy import check_policy_tags

LIFECYCLE_STAGES: dict[str, tuple[str, ...]] = {
    "active": ("active",),
    "deleted": ("deleted",),
    "all": ("active", "deleted"),
}


def _fields(experiment: Experiment) -> dict[str, Any]:
    return {
        "id": experiment.id,
        "name": experiment.name,
        "lifecycle_stage": experiment.lifecycle_stage,
        "tags": {tag.key: tag.value for tag in experiment.tags},
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "project_id": experiment.project_id,
    }


def to_read(experiment: Experiment) -> ExperimentRead:
    return ExperimentRead(**_fields(experiment))


async def list_items(
    session: AsyncSession, experiments: Sequence[Experiment]
) -> list[ExperimentListItem]:
    """The experiments as a list shows them, with their run counts: one query for the page,
    from the counts the database keeps (migration 0012), not by counting runs."""
    counts = await repository.select_run_counts(session, [e.id for e in experiments])
    items = []
    for experiment in experiments:
        runs, running = counts.get(experiment.id, (0, 0))
        items.append(
            ExperimentListItem(**_fields(experiment), run_count=runs, active_run_count=running)
        )
    return items


def record_experiment_event(
    session: AsyncSession, event_type: EventType, experiment: Experiment
) -> None:
    record(
        session,
        Event(
            event_type,
            {"experiment": to_read(experiment).model_dump(mode="json")},
            project_id=experiment.project_id,
            experiment_id=experiment.id,
        ),
    )


async def project_of(session: AsyncSession, experiment_id: int) -> int | None:
    """The project an experiment belongs to (None: none, or no such experiment); from the
    session when it is loaded there."""
    return await repository.select_project_id(session, experiment_id)


def check_experiment_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        check_key("tag", key)
        check_value_length("tag", key, value, MAX_EXPERIMENT_TAG_VALUE_LENGTH)
    # `trackboard.retention.*` tags are the experiment's retention policy: refused unless
    # they parse, so a typo never silently keeps (or purges) data.
    check_policy_tags(tags)


def check_experiment_name(name: str) -> None:
    if not name.strip():
        raise InvalidParameter("experiment name must not be empty")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(f"experiment name exceeds {MAX_EXPERIMENT_NAME_LENGTH} characters")


async def get_experiment(session: AsyncSession, experiment_id: int) -> Experiment:
    experiment = await repository.select_experiment(session, experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    return experiment


async def get_active_experiment(session: AsyncSession, experiment_id: int) -> Experiment:
    experiment = await get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(f"experiment {experiment_id} is deleted")
    return experiment


async def get_experiment_by_name(session: AsyncSession, name: str) -> Experiment:
    experiment = await repository.select_active_experiment_by_name(session, name)
    if experiment is None:
        raise NotFound(f"experiment {name!r} does not exist")
    return experiment


async def _ensure_name_free(session: AsyncSession, name: str) -> None:
    if await repository.select_active_experiment_by_name(session, name) is not None:
        raise AlreadyExists(f"experiment {name!r} already exists")


async def create_experiment(
    session: AsyncSession,
    name: str,
    tags: dict[str, str],
    artifact_location: str | None = None,
    project_id: int | None = None,
) -> Experiment:
    check_experiment_name(name)
    check_experiment_tags(tags)
    await _ensure_name_free(session, name)
    now = now_ms()
    experiment = Experiment(
        name=name,
        lifecycle_stage="active",
        artifact_location=artifact_location,
        project_id=project_id,
        creation_time=now,
        last_update_time=now,
        tags=[ExperimentTag(key=key, value=value) for key, value in tags.items()],
    )
    try:
        # A savepoint, so that losing a race on the name leaves the transaction usable.
        async with session.begin_nested():
            session.add(experiment)
    except IntegrityError as exc:
        raise AlreadyExists(f"experiment {name!r} already exists") from exc
    record_experiment_event(session, "experiment.created", experiment)
    return experiment


async def list_experiments(
    session: AsyncSession,
    *,
    name_contains: str | None,
    lifecycle: LifecycleFilter,
    after_id: int | None,
    limit: int,
    project_ids: Collection[int] | None = None,
) -> list[Experiment]:
    """A page of experiments; `project_ids` restricts it to those projects (None: all)."""
    return list(
        await repository.select_experiments(
            session,
            name_contains=name_contains,
            lifecycle_stages=LIFECYCLE_STAGES[lifecycle],
            after_id=after_id,
            limit=limit,
            project_ids=project_ids,
        )
    )


async def update_experiment(
    session: AsyncSession,
    experiment_id: int,
    name: str | None = None,
    tags: dict[str, str] | None = None,
) -> Experiment:
    experiment = await get_experiment(session, experiment_id)
    changed = False
    if name is not None and name != experiment.name:
        check_experiment_name(name)
        if experiment.lifecycle_stage == "active":
            await _ensure_name_free(session, name)
        experiment.name = name
        changed = True
    if tags:
        check_experiment_tags(tags)
        existing = {tag.key: tag.value for tag in experiment.tags}
        changed = changed or any(existing.get(k) != v for k, v in tags.items())
        await repository.upsert_experiment_tags(session, experiment, tags)
    experiment.last_update_time = now_ms()
    await session.flush()
    if changed:
        record_experiment_event(session, "experiment.updated", experiment)
    return experiment


async def delete_experiment(session: AsyncSession, experiment_id: int) -> Experiment:
    experiment = await get_experiment(session, experiment_id)
    if experiment_id == 0:
        raise InvalidParameter("the Default experiment (id 0) cannot be deleted")
    experiment.lifecycle_stage = "deleted"
    experiment.last_update_time = now_ms()
    if experiment.deleted_at is None:
        experiment.deleted_at = experiment.last_update_time
    await repository.update_runs_lifecycle(
        session, experiment_id, "deleted", experiment.last_update_time
    )
    await session.flush()
    record_experiment_event(session, "experiment.deleted", experiment)
    return experiment


async def restore_experiment(session: AsyncSession, experiment_id: int) -> Experiment:
    experiment = await get_experiment(session, experiment_id)
    if experiment.lifecycle_stage == "active":
        return experiment
    await _ensure_name_free(session, experiment.name)
    experiment.lifecycle_stage = "active"
    experiment.last_update_time = now_ms()
    experiment.deleted_at = None
    await repository.update_runs_lifecycle(session, experiment_id, "active", None)
    await session.flush()
    record_experiment_event(session, "experiment.restored", experiment)
    return experiment


async def find_experiment_by_name(session: AsyncSession, name: str) -> Experiment | None:
    """The active experiment of that name, else the last deleted one (MLflow's get-by-name)."""
    candidates = await repository.select_experiments_by_name(session, name)
    # "active" sorts before "deleted"; among deleted ones the latest change comes first.
    return candidates[0] if candidates else None


async def delete_experiment_tag(session: AsyncSession, experiment_id: int, key: str) -> None:
    experiment = await get_active_experiment(session, experiment_id)
    if not await repository.delete_experiment_tag(session, experiment, key):
        raise NotFound(f"no tag {key!r} on experiment {experiment_id}")
    experiment.last_update_time = now_ms()
    await session.flush()
    record_experiment_event(session, "experiment.updated", experiment)
