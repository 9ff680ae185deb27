"""MLflow's experiment endpoints, answered by our experiments and search services."""

import orjson
from fastapi import APIRouter, Request, Response

from trackboard.server.degraded import cached_response
from trackboard.server.errors import AlreadyExists, InvalidParameter, NotFound
from trackboard.server.experiments import service as experiments
from trackboard.server.gateway.dependencies import ReadCache, TargetProject, VisibleProjects
from trackboard.server.limits import MAX_EXPERIMENT_NAME_LENGTH
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import read_message
from trackboard.server.mlflow_compat.translate import experiment_json, json_response
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.search import service as search
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(route_class=MlflowRoute)


def _check_name(name: str | None, path: str) -> str:
    name = schemas.required(name, path)
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"'{path}' exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH} characters"
        )
    return name


def _check_tag(key: str | None, value: str | None) -> tuple[str, str]:
    return validation.check_key(key, "key", "experiment tag"), value or ""


@router.post("/experiments/create")
async def create_experiment(
    request: Request, session: WriteSession, project_id: TargetProject
) -> Response:
    message = await read_message(request, schemas.CreateExperiment)
    name = _check_name(message.name, "name")
    tags = dict(_check_tag(tag.key, tag.value) for tag in message.tags)
    # MLflow keeps names unique across deleted experiments too.
    existing = await experiments.find_experiment_by_name(session, name)
    if existing is not None:
        state = "" if existing.lifecycle_stage == "active" else " in deleted state"
        raise AlreadyExists(f"Experiment '{name}' already exists{state}.")
    experiment = await experiments.create_experiment(
        session,
        name,
        tags,
        artifact_location=message.artifact_location or None,
        project_id=project_id,
    )
    return json_response({"experiment_id": str(experiment.id)})


# The reads below keep their last answer as the last known value (`cache_aside`), keyed by
# the parsed request, and serve it marked degraded while the database is unreachable.


@router.get("/experiments/get")
async def get_experiment(request: Request, session: ReadSession, cache: ReadCache) -> Response:
    message = await read_message(request, schemas.ExperimentMessage)
    experiment_id = validation.experiment_id(message.experiment_id)

    async def compute() -> bytes:
        experiment = await experiments.get_experiment(session, experiment_id)
        return orjson.dumps({"experiment": experiment_json(experiment)})

    return cached_response(
        await cache.last_known_or_compute("mlflow_experiment", str(experiment_id), compute)
    )


@router.get("/experiments/get-by-name")
async def get_experiment_by_name(
    request: Request, session: ReadSession, cache: ReadCache
) -> Response:
    message = await read_message(request, schemas.GetExperimentByName)
    name = schemas.required(message.experiment_name, "experiment_name")

    async def compute() -> bytes:
        experiment = await experiments.find_experiment_by_name(session, name)
        if experiment is None:
            raise NotFound(f"Could not find experiment with name '{name}'")
        return orjson.dumps({"experiment": experiment_json(experiment)})

    return cached_response(
        await cache.last_known_or_compute("mlflow_experiment_by_name", name, compute)
    )


@router.get("/experiments/search")
@router.post("/experiments/search")
async def search_experiments(
    request: Request, session: ReadSession, project_ids: VisibleProjects, cache: ReadCache
) -> Response:
    message = await read_message(request, schemas.SearchExperiments)
    limit = validation.check_max_results(message.max_results, 1000, validation.MAX_SEARCH_RESULTS)
    lifecycle = schemas.lifecycle_of_view(message.view_type, "view_type")
    offset = validation.page_offset(token_int(decode_page_token(message.page_token), "offset"))

    async def compute() -> bytes:
        page = await search.search_experiments(
            session,
            filter_text=message.filter,
            order_by=message.order_by,
            lifecycle=lifecycle,
            offset=offset,
            limit=limit,
            project_ids=project_ids,
        )
        body: dict[str, object] = {"experiments": [experiment_json(e) for e in page.experiments]}
        if page.next_offset is not None:
            body["next_page_token"] = encode_page_token({"offset": page.next_offset})
        return orjson.dumps(body)

    # What the principal may see is part of the query: another one's answer never stands in.
    visible = None if project_ids is None else sorted(project_ids)
    query = [visible, message.filter, list(message.order_by), lifecycle, offset, limit]
    key = orjson.dumps(query).decode()
    return cached_response(await cache.last_known_or_compute("mlflow_experiments", key, compute))


@router.post("/experiments/update")
async def update_experiment(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.UpdateExperiment)
    experiment_id = validation.experiment_id(message.experiment_id)
    new_name = _check_name(message.new_name, "new_name")
    experiment = await experiments.get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter("Cannot rename a non-active experiment.")
    other = await experiments.find_experiment_by_name(session, new_name)
    if other is not None and other.id != experiment_id:
        raise AlreadyExists(f"Experiment '{new_name}' already exists.")
    await experiments.update_experiment(session, experiment_id, name=new_name)
    return json_response({})


@router.post("/experiments/delete")
async def delete_experiment(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.ExperimentMessage)
    experiment_id = validation.experiment_id(message.experiment_id)
    experiment = await experiments.get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise NotFound(f"No Experiment with id={experiment_id} exists")
    await experiments.delete_experiment(session, experiment_id)
    return json_response({})


@router.post("/experiments/restore")
async def restore_experiment(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.ExperimentMessage)
    experiment_id = validation.experiment_id(message.experiment_id)
    experiment = await experiments.get_experiment(session, experiment_id)
    if experiment.lifecycle_stage != "deleted":
        raise NotFound(f"No deleted Experiment with id={experiment_id} exists")
    await experiments.restore_experiment(session, experiment_id)
    return json_response({})


@router.post("/experiments/set-experiment-tag")
async def set_experiment_tag(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.SetExperimentTag)
    experiment_id = validation.experiment_id(message.experiment_id)
    key, value = _check_tag(schemas.required(message.key, "key"), message.value)
    await experiments.get_active_experiment(session, experiment_id)
    await experiments.update_experiment(session, experiment_id, tags={key: value})
    return json_response({})


@router.post("/experiments/delete-experiment-tag")
async def delete_experiment_tag(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.DeleteExperimentTag)
    experiment_id = validation.experiment_id(message.experiment_id)
    key = schemas.required(message.key, "key")
    await experiments.delete_experiment_tag(session, experiment_id, key)
    return json_response({})
