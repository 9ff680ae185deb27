"""MLflow's run endpoints: lifecycle, params, tags and search, on our run services."""

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.degraded import cached_response
from trackboard.server.errors import InvalidParameter
from trackboard.server.experiments import service as experiments
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.logged_models import service as logged_models
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import read_message
from trackboard.server.mlflow_compat.translate import json_response, run_info_json, run_json
from trackboard.server.models import Run, RunFields
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.run_inputs import service as run_inputs
from trackboard.server.runs import service as runs
from trackboard.server.search import service as search
from trackboard.server.search.filter_parser import parse_order_by
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(route_class=MlflowRoute)

RUN_NAME_TAG = runs.RUN_NAME_TAG


# Runs described per query batch: PostgreSQL takes at most 32,767 bound parameters, and a
# search page may hold 50,000 runs.
DESCRIBE_CHUNK = 5000


async def describe(session: AsyncSession, run_list: Sequence[RunFields]) -> list[dict[str, Any]]:
    """Runs as MLflow's `Run`: info, data, and inputs (datasets, models) and outputs."""
    described = []
    for start in range(0, len(run_list), DESCRIBE_CHUNK):
        chunk = run_list[start : start + DESCRIBE_CHUNK]
        run_ids = [run.id for run in chunk]
        reads = await runs.describe_runs(session, chunk)
        datasets = await run_inputs.dataset_inputs(session, run_ids)
        models = await logged_models.run_models(session, run_ids)
        for run, read in zip(chunk, reads, strict=True):
            experiment = await experiments.get_experiment(session, run.experiment_id)
            described.append(
                run_json(run, read, experiment, datasets.get(run.id), models.get(run.id))
            )
    return described


def _tags(items: Sequence[schemas.KeyValue], path: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for index, tag in enumerate(items):
        key = validation.check_key(tag.key, f"{path}[{index}].key", "tag")
        tags[key] = validation.tag_value(tag.value)
    return tags


@router.post("/runs/create")
async def create_run(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.CreateRun)
    experiment_id = validation.experiment_id(message.experiment_id)
    tags = _tags(message.tags, "tags")
    name_tag = tags.get(RUN_NAME_TAG)
    if message.run_name and name_tag and message.run_name != name_tag:
        raise InvalidParameter(
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
            f"different values (run_name='{message.run_name}', mlflow.runName='{name_tag}')."
        )
    experiment = await experiments.get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The experiment {experiment_id} must be in the 'active' state. "
            f"Current state is {experiment.lifecycle_stage}."
        )
    change, _ = await runs.create_run(
        session,
        experiment_id,
        name=message.run_name or None,
        start_time=message.start_time,
        user=message.user_id or "",
        tags=tags,
    )
    return json_response({"run": run_json(change.run, change.view, experiment)})


# Runs and searches keep their last answer as the last known value (`cache_aside`), keyed by
# the parsed request, and serve it marked degraded while the database is unreachable.


@router.get("/runs/get")
async def get_run(request: Request, session: ReadSession, cache: ReadCache) -> Response:
    message = await read_message(request, schemas.RunMessage)
    run_id = message.required_run_id()

    async def compute() -> bytes:
        run = await runs.get_run(session, run_id)
        return orjson.dumps({"run": (await describe(session, [run]))[0]})

    return cached_response(await cache.last_known_or_compute("mlflow_run", run_id, compute))


async def active_run(session: AsyncSession, run_id: str) -> Run:
    run = await runs.get_run(session, run_id)
    if run.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {run.lifecycle_stage}."
        )
    return run


@router.post("/runs/update")
async def update_run(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.UpdateRun)
    run_id = message.required_run_id()
    status = schemas.enum_name(message.status, schemas.RUN_STATUSES, "status")
    await active_run(session, run_id)
    change = await runs.update_run(
        session,
        run_id,
        name=message.run_name or None,
        status=status,
        end_time=message.end_time,
    )
    run = change.run
    experiment = await experiments.get_experiment(session, run.experiment_id)
    return json_response({"run_info": run_info_json(run, experiment)})


@router.post("/runs/delete")
async def delete_run(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.RunMessage)
    await runs.set_lifecycle(session, message.required_run_id(), "deleted")
    return json_response({})


@router.post("/runs/restore")
async def restore_run(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.RunMessage)
    await runs.set_lifecycle(session, message.required_run_id(), "active")
    return json_response({})


@router.post("/runs/log-parameter")
async def log_param(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.LogParam)
    run_id = message.required_run_id()
    key = validation.check_key(schemas.required(message.key, "key"), "key", "param")
    await active_run(session, run_id)
    await runs.log_params(session, run_id, {key: validation.param_value(message.value)})
    return json_response({})


@router.post("/runs/set-tag")
async def set_tag(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.SetTag)
    run_id = message.required_run_id()
    key = validation.check_key(schemas.required(message.key, "key"), "key", "tag")
    await active_run(session, run_id)
    await runs.set_tags(session, run_id, {key: validation.tag_value(message.value)})
    return json_response({})


@router.post("/runs/delete-tag")
async def delete_tag(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.DeleteTag)
    run_id = message.required_run_id()
    key = schemas.required(message.key, "key")
    await active_run(session, run_id)
    await runs.delete_tag(session, run_id, key)
    return json_response({})


def _check_order_by(order_by: Sequence[str]) -> None:
    """MLflow refuses to sort by one field twice (its server then fails with a 500)."""
    targets = [parse_order_by(term).target for term in order_by]
    if len(set(targets)) != len(targets):
        raise InvalidParameter(f"order_by names a field more than once: {list(order_by)}")


@router.post("/runs/search")
async def search_runs(request: Request, session: ReadSession, cache: ReadCache) -> Response:
    message = await read_message(request, schemas.SearchRuns)
    limit = validation.check_max_results(message.max_results, 1000, validation.MAX_SEARCH_RESULTS)
    experiment_ids = [validation.experiment_id(e) for e in message.experiment_ids]
    _check_order_by(message.order_by)
    lifecycle = schemas.lifecycle_of_view(message.run_view_type, "run_view_type")
    offset = validation.page_offset(token_int(decode_page_token(message.page_token), "offset"))

    async def compute() -> bytes:
        page = await search.search_runs(
            session,
            experiment_ids=experiment_ids,
            filter_text=message.filter,
            order_by=message.order_by,
            lifecycle=lifecycle,
            offset=offset,
            limit=limit,
        )
        body: dict[str, Any] = {}
        if page.runs:
            body["runs"] = await describe(session, page.runs)
        if page.next_offset is not None:
            body["next_page_token"] = encode_page_token({"offset": page.next_offset})
        return orjson.dumps(body)

    # The gateway authorized the experiments, which the key names.
    query = [experiment_ids, message.filter, list(message.order_by), lifecycle, offset, limit]
    key = orjson.dumps(query).decode()
    return cached_response(await cache.last_known_or_compute("mlflow_run_search", key, compute))
