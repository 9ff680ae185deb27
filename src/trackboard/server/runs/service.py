"""Run rules: creation (idempotent for client-chosen ids), status moves, immutable params.

Every change records `run.*` events (`events`) whose `run` is the run's document as
`describe_run` returns it after the change; a call that changes nothing records none. The
calls that change a run's fields return a `RunChange`: the run and that same document, so
a caller answering with the document does not read it again.
"""

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.events import TERMINAL_EVENTS, Event, EventType, record, recorded
from trackboard.server.experiments import service as experiments
from trackboard.server.limits import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_value_length,
)
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.schemas import SummaryView
from trackboard.server.models import Run, RunFields
from trackboard.server.runs import repository
from trackboard.server.runs.run_names import random_run_name
from trackboard.server.runs.schemas import TERMINAL_STATUSES, RunRead, RunView

RUN_NAME_TAG = "mlflow.runName"


async def get_run(session: AsyncSession, run_id: str) -> Run:
    run = await repository.select_run(session, run_id)
    if run is None:
        raise NotFound(f"run {run_id!r} does not exist")
    return run


async def find_runs(session: AsyncSession, run_ids: Sequence[str]) -> Sequence[Run]:
    """Those of these runs that exist (any order), read in one query."""
    return await repository.select_runs(session, run_ids)


async def get_runs(session: AsyncSession, run_ids: Sequence[str]) -> dict[str, Run]:
    """These runs by id, read in one query; `NotFound` names the first id without a run."""
    found = {run.id: run for run in await repository.select_runs(session, run_ids)}
    for run_id in run_ids:
        if run_id not in found:
            raise NotFound(f"run {run_id!r} does not exist")
    return found


async def get_active_run(session: AsyncSession, run_id: str) -> Run:
    """The run, if it can take writes (MLflow refuses writes to deleted runs)."""
    run = await get_run(session, run_id)
    if run.lifecycle_stage != "active":
        raise InvalidParameter(f"run {run_id!r} is deleted; restore it before writing to it")
    return run


class RunChange(NamedTuple):
    """A run after a change, with its document as of that change: as `describe_runs`
    returns it (`view`) and as `describe_run` does (`document`)."""

    run: Run
    view: RunView
    document: RunRead


async def describe_change(session: AsyncSession, run: Run) -> RunChange:
    return (await describe_changes(session, [run]))[0]


async def describe_changes(session: AsyncSession, runs: Sequence[Run]) -> list[RunChange]:
    views = await describe_runs(session, runs)
    return [
        RunChange(run, view, RunRead.model_validate(view))
        for run, view in zip(runs, views, strict=True)
    ]


def describe_new_run(run: Run, params: dict[str, str], tags: dict[str, str]) -> RunChange:
    """The change of a run just created with these params and tags: nothing to read back
    (a new run has no other params or tags, and no metrics yet)."""
    view = run_view(run, params, tags, {})
    return RunChange(run, view, RunRead.model_validate(view))


class _Unknown:
    """The type of `UNKNOWN`."""


# A project id not at hand: None is a known answer (an experiment outside any project).
UNKNOWN = _Unknown()


async def record_run_events(
    session: AsyncSession,
    run: Run,
    events: Sequence[tuple[EventType, dict[str, Any]]],
    *,
    project_id: int | _Unknown | None = UNKNOWN,
    change: RunChange | None = None,
) -> RunChange:
    """Record events of one change of `run`, each with the run's document after it; the
    run and that document (read even when there is no event: the caller answers with it).
    `project_id`: the run's project (None: none) when the caller has it at hand, else it
    is read; `change`: the document when the caller knows it without reading (a new run).

    The document travels as JSON data and, for subscribers in this process (the live
    fan-out), as the `RunRead` itself (`Event.local`)."""
    if change is None:
        change = await describe_change(session, run)
    if not events:
        return change
    document = change.document
    # JSON through the model: metric summaries may hold NaN/inf, which it spells as strings.
    data = orjson.loads(document.model_dump_json())
    if isinstance(project_id, _Unknown):
        project_id = await experiments.project_of(session, run.experiment_id)
    for event_type, extra in events:
        record(
            session,
            Event(
                event_type,
                {"run": data, **extra},
                project_id=project_id,
                experiment_id=run.experiment_id,
                run_id=run.id,
                local=document,
            ),
        )
    return change


def status_events(old_status: str, new_status: str) -> list[tuple[EventType, dict[str, Any]]]:
    if old_status == new_status:
        return []
    moved: list[tuple[EventType, dict[str, Any]]] = [
        ("run.status_changed", {"old_status": old_status, "new_status": new_status})
    ]
    terminal = TERMINAL_EVENTS.get(new_status)
    if terminal is not None:
        moved.append((terminal, {"old_status": old_status, "new_status": new_status}))
    return moved


def check_params(params: dict[str, str]) -> None:
    for key, value in params.items():
        check_key("param", key)
        check_value_length("param", key, value, MAX_PARAM_VALUE_LENGTH)


def check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        check_key("tag", key)
        check_value_length("tag", key, value, MAX_TAG_VALUE_LENGTH)


class NewRun(NamedTuple):
    """A run to create, as a client describes it (`id` None: the server chooses one)."""

    id: str | None
    name: str | None
    start_time: int | None
    user: str
    status: str
    tags: dict[str, str]
    params: dict[str, str]


async def create_run(
    session: AsyncSession,
    experiment_id: int,
    *,
    run_id: str | None = None,
    name: str | None = None,
    start_time: int | None = None,
    user: str = "",
    status: str = "RUNNING",
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[RunChange, bool]:
    """Create a run; returns it and whether it is new (a repeated client id is not)."""
    spec = NewRun(run_id, name, start_time, user, status, dict(tags or {}), dict(params or {}))
    return (await create_runs(session, experiment_id, [spec]))[0]


async def create_runs(
    session: AsyncSession, experiment_id: int, specs: Sequence[NewRun]
) -> list[tuple[RunChange, bool]]:
    """Create runs in one experiment, each as `create_run` would (a client id that exists
    already answers that run, not new); in order, each with whether it is new. A few
    statements for all of them, however many: what makes a batch cheaper than its runs one
    by one. An id given twice is refused: which of the two bodies would hold is unclear."""
    experiment = await experiments.get_active_experiment(session, experiment_id)
    for spec in specs:
        check_tags(spec.tags)
        check_params(spec.params)
    client_ids = [spec.id for spec in specs if spec.id is not None]
    if len(set(client_ids)) != len(client_ids):
        raise InvalidParameter("a run id appears twice in one request")
    existing = (
        {run.id: run for run in await repository.select_runs(session, client_ids)}
        if client_ids
        else {}
    )
    for run in existing.values():
        if run.experiment_id != experiment_id:
            raise InvalidParameter(f"run {run.id!r} exists in another experiment")
    new: list[tuple[Run, dict[str, str], dict[str, str]]] = []
    order: list[str] = []  # the answer's run ids, in the order of `specs`
    for spec in specs:
        if spec.id is not None and spec.id in existing:
            order.append(spec.id)
            continue
        tags = dict(spec.tags)
        name = spec.name or tags.get(RUN_NAME_TAG) or random_run_name()
        tags[RUN_NAME_TAG] = name
        run = Run(
            id=spec.id or uuid.uuid4().hex,
            experiment_id=experiment_id,
            name=name,
            status=spec.status,
            start_time=spec.start_time if spec.start_time is not None else now_ms(),
            end_time=None,
            user=spec.user,
            lifecycle_stage="active",
        )
        new.append((run, spec.params, tags))
        order.append(run.id)
    if new:
        session.add_all(run for run, _, _ in new)
        await session.flush()
        await repository.insert_params_and_tags(
            session,
            [(run.id, key, value) for run, params, _ in new for key, value in params.items()],
            [(run.id, key, value) for run, _, tags in new for key, value in tags.items()],
        )
    changes: dict[str, tuple[RunChange, bool]] = {}
    for run, params, tags in new:
        change = await record_run_events(
            session,
            run,
            [("run.created", {})],
            project_id=experiment.project_id,
            change=describe_new_run(run, params, tags),
        )
        changes[run.id] = (change, True)
    for change in await describe_changes(session, list(existing.values())):
        changes[change.run.id] = (change, False)
    return [changes[run_id] for run_id in order]


async def update_run(
    session: AsyncSession,
    run_id: str,
    *,
    name: str | None = None,
    status: str | None = None,
    end_time: int | None = None,
) -> RunChange:
    found = await repository.select_run_and_project(session, run_id)
    if found is None:
        raise NotFound(f"run {run_id!r} does not exist")
    run, project_id = found
    old_status, old_end_time = run.status, run.end_time
    changes: list[str] = []
    if name is not None:
        if name != run.name:
            changes.append("name")
        run.name = name
        await repository.upsert_tags(session, run.id, {RUN_NAME_TAG: name})
    if status is not None:
        run.status = status
        if status in TERMINAL_STATUSES and end_time is None and run.end_time is None:
            end_time = now_ms()
    if end_time is not None:
        run.end_time = end_time
    await session.flush()
    events = status_events(old_status, run.status)
    if run.end_time != old_end_time and not events:
        changes.append("end_time")
    if changes:
        events.insert(0, ("run.updated", {"changes": changes}))
    return await record_run_events(session, run, events, project_id=project_id)


async def set_lifecycle(session: AsyncSession, run_id: str, lifecycle_stage: str) -> RunChange:
    run = await get_run(session, run_id)
    if lifecycle_stage == "active":
        await experiments.get_active_experiment(session, run.experiment_id)
    changed = run.lifecycle_stage != lifecycle_stage
    run.lifecycle_stage = lifecycle_stage
    if changed:
        # `trackboard gc` purges runs deleted longer ago than the retention.
        run.deleted_at = None if lifecycle_stage == "active" else now_ms()
    await session.flush()
    events: list[tuple[EventType, dict[str, Any]]] = []
    if changed:
        events.append(("run.restored" if lifecycle_stage == "active" else "run.deleted", {}))
    return await record_run_events(session, run, events)


async def claim_request(session: AsyncSession, run_id: str, request_id: str) -> bool:
    """Record a write's request id for the run (NotFound if there is no such run); False
    if the run applied that request before: the caller then changes nothing."""
    await get_run(session, run_id)
    return await metrics.record_batch_id(session, run_id, request_id)


async def log_params(session: AsyncSession, run_id: str, params: dict[str, str]) -> None:
    """Add params; one already set with another value fails the whole call."""
    run = await get_active_run(session, run_id)
    check_params(params)
    existing = await repository.select_param_values(session, run_id, list(params))
    conflicts = {
        k: (existing[k], v) for k, v in params.items() if k in existing and existing[k] != v
    }
    if conflicts:
        key, (old, new) = next(iter(conflicts.items()))
        raise InvalidParameter(
            f"param {key!r} of run {run_id!r} is already {old!r} and cannot change to {new!r} "
            "(params are immutable)"
        )
    new_params = {k: v for k, v in params.items() if k not in existing}
    repository.insert_params(session, run_id, new_params)
    await session.flush()
    if new_params:
        await record_run_events(session, run, [("run.updated", {"changes": ["params"]})])


async def set_tags(session: AsyncSession, run_id: str, tags: dict[str, str]) -> None:
    run = await get_active_run(session, run_id)
    check_tags(tags)
    existing = await get_tags(session, run_id)
    await repository.upsert_tags(session, run_id, tags)
    changes = ["tags"] if any(existing.get(k) != v for k, v in tags.items()) else []
    if RUN_NAME_TAG in tags and run.name != tags[RUN_NAME_TAG]:
        run.name = tags[RUN_NAME_TAG]
        changes.append("name")
    await session.flush()
    if changes:
        await record_run_events(session, run, [("run.updated", {"changes": changes})])


async def delete_tag(session: AsyncSession, run_id: str, key: str) -> None:
    run = await get_active_run(session, run_id)
    if await repository.delete_tag(session, run_id, key) == 0:
        raise NotFound(f"no tag {key!r} on run {run_id!r}")
    await record_run_events(session, run, [("run.updated", {"changes": ["tags"]})])


async def raise_alert(
    session: AsyncSession,
    run_id: str,
    title: str,
    text: str,
    level: str,
    *,
    alert_id: str | None = None,
) -> str:
    """Record a `run.alert` event for the run; its id. `alert_id` (the client's, the same
    on every retry) lets the notifier send a retried alert once."""
    run = await get_active_run(session, run_id)
    data = {"title": title, "text": text, "level": level, "alert_id": alert_id}
    await record_run_events(session, run, [("run.alert", data)])
    return recorded(session)[-1].id


async def get_params(session: AsyncSession, run_id: str) -> dict[str, str]:
    return {key: value for _, key, value in await repository.select_params(session, [run_id])}


async def get_tags(session: AsyncSession, run_id: str) -> dict[str, str]:
    return {key: value for _, key, value in await repository.select_tags(session, [run_id])}


async def describe_runs(session: AsyncSession, runs: Sequence[RunFields]) -> list[RunView]:
    """JSON-ready views of runs with params, tags and metric summaries, in two queries.

    Plain dicts, not `RunRead` models: for a page of 1,000 runs, building and validating
    models cost more than reading the rows."""
    run_ids = [run.id for run in runs]
    if not run_ids:
        return []
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, run_id, key, value in await repository.select_params_and_tags(session, run_ids):
        (params if kind == "param" else tags)[run_id][key] = value
    summaries = await metrics.get_summaries(session, run_ids)
    return [run_view(run, params[run.id], tags[run.id], summaries.get(run.id, {})) for run in runs]


def run_view(
    run: RunFields,
    params: dict[str, str],
    tags: dict[str, str],
    summaries: dict[str, SummaryView],
) -> RunView:
    return {
        "id": run.id,
        "experiment_id": run.experiment_id,
        "name": run.name,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "user": run.user,
        "lifecycle_stage": run.lifecycle_stage,
        "params": params,
        "tags": tags,
        "metrics": summaries,
    }


async def describe_run(session: AsyncSession, run: Run) -> RunRead:
    return RunRead.model_validate((await describe_runs(session, [run]))[0])


async def idle_running_runs(
    session: AsyncSession, experiment_ids: Collection[int] | None, project_id: int | None
) -> list[tuple[Run, int]]:
    """RUNNING runs in scope, each with when it last stored metrics (server time, ms; its
    start time if never): what `run.stalled` notification rules watch."""
    return await repository.select_idle_running_runs(session, experiment_ids, project_id)
