"""MLflow 3's logged-model endpoints (`/logged-models/...`) on the logged-model service.

`mlflow.<flavor>.log_model` creates a model here, uploads its files through the artifact
proxy to the model's `artifact_uri`, then finalizes it READY; autolog's metrics carry its
`model_id`. Paths, bodies and error codes follow MLflow 3.17.2's server.
"""

import posixpath
from typing import Any

from fastapi import APIRouter, Request, Response

from trackboard.server.artifacts.dependencies import Store
from trackboard.server.artifacts.locations import proxied_store_path
from trackboard.server.artifacts.store import check_relative_path
from trackboard.server.errors import InvalidParameter
from trackboard.server.identifiers import parse_model_id, parse_run_id
from trackboard.server.logged_models import service as logged_models
from trackboard.server.logged_models.schemas import (
    DEFAULT_SEARCH_RESULTS,
    MAX_SEARCH_RESULTS,
    ModelView,
    OrderBy,
)
from trackboard.server.mlflow_compat import logged_model_messages as messages
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import missing_value, read_message
from trackboard.server.mlflow_compat.translate import file_info_json, json_response, model_json
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(route_class=MlflowRoute)


def _key_values(items: list[schemas.KeyValue], path: str, kind: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, item in enumerate(items):
        key = validation.check_key(item.key, f"{path}[{index}].key", kind)
        if item.value is None:
            raise InvalidParameter(missing_value(f"{path}[{index}].value"))
        found[key] = item.value
    return found


def _model_response(view: ModelView) -> Response:
    return json_response({"model": model_json(view)})


@router.post("/logged-models")
async def create_logged_model(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, messages.CreateLoggedModel)
    experiment_id = validation.experiment_id(message.experiment_id)
    source_run_id = parse_run_id(message.source_run_id) if message.source_run_id else None
    view = await logged_models.create_model(
        session,
        experiment_id,
        name=message.name or None,
        model_type=message.model_type or None,
        source_run_id=source_run_id,
        params=_key_values(message.params, "params", "param"),
        tags=_key_values(message.tags, "tags", "tag"),
        model_id=parse_model_id(message.model_id) if message.model_id else None,
        creation_time=message.creation_timestamp_ms,
        last_update_time=message.last_updated_timestamp_ms,
    )
    return _model_response(view)


@router.get("/logged-models/{model_id}")
async def get_logged_model(model_id: str, request: Request, session: ReadSession) -> Response:
    message = await read_message(request, messages.GetLoggedModel)
    allow_deleted = (message.allow_deleted or "false").lower() == "true"
    view = await logged_models.describe_model(
        session, parse_model_id(model_id), allow_deleted=allow_deleted
    )
    return _model_response(view)


@router.patch("/logged-models/{model_id}")
async def finalize_logged_model(model_id: str, request: Request, session: WriteSession) -> Response:
    """The client names the model in the path and the body; the path decides, as MLflow's
    store reads the body's id and it is the same."""
    message = await read_message(request, messages.FinalizeLoggedModel)
    if not message.model_id:
        raise InvalidParameter(missing_value("model_id"))
    if message.status is None:
        raise InvalidParameter(missing_value("status"))
    status = schemas.enum_name(message.status, messages.MODEL_STATUSES, "status")
    assert status is not None
    view = await logged_models.finalize_model(
        session,
        parse_model_id(model_id),
        status,
        last_update_time=message.last_updated_timestamp_ms,
    )
    return _model_response(view)


@router.delete("/logged-models/{model_id}")
async def delete_logged_model(model_id: str, session: WriteSession) -> Response:
    await logged_models.delete_model(session, parse_model_id(model_id))
    return json_response({})


@router.post("/logged-models/{model_id}/params")
async def log_logged_model_params(
    model_id: str, request: Request, session: WriteSession
) -> Response:
    message = await read_message(request, messages.LogLoggedModelParams)
    if not message.model_id:
        raise InvalidParameter(missing_value("model_id"))
    params = _key_values(message.params, "params", "param")
    await logged_models.log_params(session, parse_model_id(model_id), params)
    return json_response({})


@router.patch("/logged-models/{model_id}/tags")
async def set_logged_model_tags(model_id: str, request: Request, session: WriteSession) -> Response:
    message = await read_message(request, messages.SetLoggedModelTags)
    tags = _key_values(message.tags, "tags", "tag")
    await logged_models.set_tags(session, parse_model_id(model_id), tags)
    return json_response({})


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
async def delete_logged_model_tag(model_id: str, tag_key: str, session: WriteSession) -> Response:
    await logged_models.delete_tag(session, parse_model_id(model_id), tag_key)
    return json_response({})


def _order_by(items: list[messages.OrderByField]) -> list[OrderBy]:
    order = []
    for index, item in enumerate(items):
        if not item.field_name:
            raise InvalidParameter(missing_value(f"order_by[{index}].field_name"))
        order.append(
            OrderBy(
                item.field_name,
                True if item.ascending is None else item.ascending,
                item.dataset_name or None,
                item.dataset_digest or None,
            )
        )
    return order


@router.post("/logged-models/search")
async def search_logged_models(request: Request, session: ReadSession) -> Response:
    """Also what the client asks while listing a run's artifacts (a model named as the path)."""
    message = await read_message(request, messages.SearchLoggedModels)
    experiment_ids = [validation.experiment_id(e) for e in message.experiment_ids]
    limit = validation.check_max_results(
        message.max_results or None, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS
    )
    offset = token_int(decode_page_token(message.page_token), "offset")
    page = await logged_models.search_models(
        session,
        experiment_ids,
        filter_text=message.filter,
        datasets=[(d.dataset_name or "", d.dataset_digest or None) for d in message.datasets],
        order_by=_order_by(message.order_by),
        offset=offset,
        limit=limit,
    )
    body: dict[str, Any] = {}
    if page.models:
        body["models"] = [model_json(view) for view in page.models]
    if page.next_offset is not None:
        body["next_page_token"] = encode_page_token({"offset": page.next_offset})
    return json_response(body)


@router.get("/logged-models/{model_id}/artifacts/directories")
async def list_logged_model_artifacts(
    model_id: str, request: Request, session: ReadSession, store: Store
) -> Response:
    """The direct entries of a folder of the model's files, with paths from the model's root."""
    message = await read_message(request, messages.ListLoggedModelArtifacts)
    relative = check_relative_path(message.artifact_directory_path or "")
    model = await logged_models.get_model(session, parse_model_id(model_id))
    folder = proxied_store_path(model.artifact_location)
    if folder is None:
        raise InvalidParameter(
            "Trackboard lists the model files it keeps through its artifact proxy; this "
            f"model's files are at {model.artifact_location}"
        )
    entries = await store.list(posixpath.join(folder, relative) if relative else folder)
    files = [
        file_info_json(posixpath.join(relative, entry.path) if relative else entry.path, entry)
        for entry in entries
    ]
    body: dict[str, Any] = {"root_uri": model.artifact_location}
    if files:
        body["files"] = files
    return json_response(body)
