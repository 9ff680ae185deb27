"""Logged-model rules (MLflow 3): creation in an active experiment, finalization, soft
delete, params and tags, metrics linked to a model, search, and the run↔model links.

No domain event fits these changes (`events.EventType` names experiments, runs and
metrics only), so none is recorded; nothing subscribes to models yet.
"""

import math
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.artifacts.locations import experiment_artifact_location
from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.experiments import service as experiments
from trackboard.server.logged_models import repository
from trackboard.server.logged_models.filter_parser import parse_model_filter, parse_order_field
from trackboard.server.logged_models.schemas import (
    PENDING,
    STATUSES,
    ModelMetricIn,
    ModelPage,
    ModelView,
    OrderBy,
    RunModels,
)
from trackboard.server.models import LoggedModel, LoggedModelMetric, RunModelLink
from trackboard.server.runs import service as runs

# MLflow names an unnamed model as it names a run (adjective-animal-number).
from trackboard.server.runs.run_names import random_run_name

# MLflow refuses these characters in a model name: it becomes a path part and a URI part.
BAD_NAME_CHARACTERS = ("/", ":", ".", "%", '"', "'")


def check_name(name: str) -> None:
    if not name or any(c in name for c in BAD_NAME_CHARACTERS):
        raise InvalidParameter(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {BAD_NAME_CHARACTERS}"
        )


# A model's params and tags take the keys and value lengths a run's do.
check_params = runs.check_params
check_tags = runs.check_tags


async def create_model(
    session: AsyncSession,
    experiment_id: int,
    *,
    name: str | None = None,
    model_type: str | None = None,
    source_run_id: str | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    model_id: str | None = None,
    creation_time: int | None = None,
    last_update_time: int | None = None,
) -> ModelView:
    """A new PENDING model; its files go under `<experiment location>/models/<id>/artifacts`.

    An importer may choose the id and times (as a run's id and start time): creating that
    id again in the same experiment returns the model as it is, in another one is refused.
    """
    if name is not None:
        check_name(name)
    check_params(params or {})
    check_tags(tags or {})
    experiment = await experiments.get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The experiment {experiment_id} must be in the 'active' state. "
            f"Current state is {experiment.lifecycle_stage}."
        )
    if model_id is not None:
        existing = await repository.select_model(session, model_id)
        if existing is not None:
            if existing.experiment_id != experiment_id:
                raise InvalidParameter(f"model {model_id!r} exists in another experiment")
            return (await describe_models(session, [existing]))[0]
    model_id = model_id or f"m-{uuid.uuid4().hex}"
    created = creation_time if creation_time is not None else now_ms()
    model = LoggedModel(
        id=model_id,
        experiment_id=experiment_id,
        name=name or random_run_name(),
        artifact_location=f"{experiment_artifact_location(experiment)}/models/{model_id}/artifacts",
        creation_time=created,
        last_update_time=last_update_time if last_update_time is not None else created,
        model_type=model_type or None,
        status=PENDING,
        lifecycle_stage="active",
        source_run_id=source_run_id or None,
    )
    session.add(model)
    await session.flush()
    if params:
        repository.insert_params(session, model_id, params)
    if tags:
        await repository.upsert_tags(session, model_id, tags)
    return ModelView(model, dict(params or {}), dict(sorted((tags or {}).items())))


def not_found(model_id: str) -> NotFound:
    return NotFound(f"Logged model with ID '{model_id}' not found.")


async def get_model(
    session: AsyncSession, model_id: str, *, allow_deleted: bool = False
) -> LoggedModel:
    model = await repository.select_model(session, model_id)
    if model is None or (model.lifecycle_stage == "deleted" and not allow_deleted):
        raise not_found(model_id)
    return model


async def describe_models(session: AsyncSession, models: Sequence[LoggedModel]) -> list[ModelView]:
    """Each model with its params, tags and metrics, in three queries for the whole list."""
    views = {model.id: ModelView(model) for model in models}
    ids = list(views)
    if not ids:
        return []
    for param in await repository.select_params(session, ids):
        views[param.model_id].params[param.key] = param.value
    for tag in await repository.select_tags(session, ids):
        views[tag.model_id].tags[tag.key] = tag.value
    for metric in await repository.select_metrics(session, ids):
        views[metric.model_id].metrics.append(metric)
    return list(views.values())


async def describe_model(
    session: AsyncSession, model_id: str, *, allow_deleted: bool = False
) -> ModelView:
    model = await get_model(session, model_id, allow_deleted=allow_deleted)
    return (await describe_models(session, [model]))[0]


async def finalize_model(
    session: AsyncSession, model_id: str, status: str, *, last_update_time: int | None = None
) -> ModelView:
    """The model's final status; `last_update_time` (ms) is now unless an importer keeps
    the source's."""
    if status not in STATUSES:
        raise InvalidParameter(f"Invalid logged model status {status!r}; one of {STATUSES}")
    model = await get_model(session, model_id)
    model.status = status
    model.last_update_time = last_update_time if last_update_time is not None else now_ms()
    return await describe_model(session, model_id)


async def delete_model(session: AsyncSession, model_id: str) -> None:
    """A soft delete, as MLflow's: the model stays readable with `allow_deleted`."""
    model = await get_model(session, model_id, allow_deleted=True)
    model.lifecycle_stage = "deleted"
    model.last_update_time = now_ms()


async def log_params(session: AsyncSession, model_id: str, params: dict[str, str]) -> None:
    """A model's params, like a run's, never change: the same value again is a no-op."""
    check_params(params)
    await get_model(session, model_id)
    existing = await repository.select_param_values(session, model_id, list(params))
    for key, value in params.items():
        if key in existing and existing[key] != value:
            raise InvalidParameter(
                f"param {key!r} of model {model_id!r} is already {existing[key]!r} and cannot "
                f"change to {value!r} (params are immutable)"
            )
    repository.insert_params(
        session, model_id, {k: v for k, v in params.items() if k not in existing}
    )


async def set_tags(session: AsyncSession, model_id: str, tags: dict[str, str]) -> None:
    check_tags(tags)
    await get_model(session, model_id)
    await repository.upsert_tags(session, model_id, tags)


async def delete_tag(session: AsyncSession, model_id: str, key: str) -> None:
    await get_model(session, model_id)
    if await repository.delete_tag(session, model_id, key) == 0:
        raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")


async def log_metrics(session: AsyncSession, run_id: str, metrics: Sequence[ModelMetricIn]) -> None:
    """Points logged with a `model_id` (they are also their run's points): each model must
    exist; a point already stored (a retried request) is not stored again."""
    for model_id in sorted({m.model_id for m in metrics}):
        await get_model(session, model_id, allow_deleted=True)
    await repository.insert_new_metrics(
        session,
        [
            LoggedModelMetric(
                model_id=m.model_id,
                key=m.key,
                value=None if math.isnan(m.value) else m.value,
                timestamp=m.timestamp,
                step=m.step,
                run_id=run_id,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
            )
            for m in metrics
        ],
    )


async def search_models(
    session: AsyncSession,
    experiment_ids: Sequence[int],
    *,
    filter_text: str | None,
    datasets: Sequence[tuple[str, str | None]],
    order_by: Sequence[OrderBy],
    offset: int,
    limit: int,
) -> ModelPage:
    """A page of active models, in MLflow's order; `next_offset` when more follow."""
    for name, _ in datasets:
        if not name:
            raise InvalidParameter("`dataset_name` in the `datasets` clause must be specified.")
    order = []
    for term in order_by:
        target = parse_order_field(term.field_name)
        if target.kind != "metric" and term.dataset_name:
            raise InvalidParameter(f"dataset_name applies to metrics only: {term.field_name}")
        term_datasets = [(term.dataset_name, term.dataset_digest)] if term.dataset_name else []
        order.append((target, term.ascending, term_datasets))
    query = repository.search_query(
        experiment_ids, parse_model_filter(filter_text), datasets, order
    )
    models = await repository.select_models(session, query, offset, limit + 1)
    next_offset = offset + limit if len(models) > limit else None
    return ModelPage(await describe_models(session, models[:limit]), next_offset)


async def link_outputs(
    session: AsyncSession, run_id: str, outputs: Sequence[tuple[str, int]]
) -> None:
    """Models a run produced (`runs/outputs`), at a step; the run is checked by the caller."""
    await repository.insert_new_links(
        session,
        [RunModelLink(run_id=run_id, model_id=m, direction="output", step=s) for m, s in outputs],
    )


async def link_inputs(session: AsyncSession, run_id: str, model_ids: Sequence[str]) -> None:
    """Models a run used (`runs/log-inputs` with `models`)."""
    await repository.insert_new_links(
        session,
        [RunModelLink(run_id=run_id, model_id=m, direction="input", step=0) for m in model_ids],
    )


async def run_models(session: AsyncSession, run_ids: Sequence[str]) -> dict[str, RunModels]:
    """Each run's model inputs and outputs (runs without any are left out)."""
    found: dict[str, RunModels] = {}
    for link in await repository.select_links(session, run_ids):
        entry = found.setdefault(link.run_id, RunModels())
        if link.direction == "input":
            entry.inputs.append(link.model_id)
        else:
            entry.outputs.append((link.model_id, link.step))
    return found


async def model_experiments(session: AsyncSession, model_ids: Sequence[str]) -> dict[str, int]:
    """The experiment of each model that exists, deleted or not (for authorization)."""
    if not model_ids:
        return {}
    return await repository.select_model_experiments(session, model_ids)
