"""Read an MLflow request message: a JSON body for POST, the query string for GET.

MLflow's client sends GET arguments as query parameters (repeated keys for lists, every value
a string) and POST arguments as a JSON object; both are validated into one pydantic model,
and a mismatch is an `INVALID_PARAMETER_VALUE` with MLflow's wording.
"""

import json
import types
import typing
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from trackboard.server.errors import InvalidParameter
from trackboard.server.gateway.request_guard import is_json_media_type

Message = TypeVar("Message", bound=BaseModel)

MAX_BODY_BYTES = 16 * 1024 * 1024


def _is_list_field(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list_field(arg) for arg in typing.get_args(annotation))
    return False


# MLflow appends this to the messages of its declarative request checks (required fields,
# types and ranges), though not to the checks written out in its handlers.
API_DOCS_HINT = " See the API docs for more information about request parameters."


def missing_value(path: str) -> str:
    return f"Missing value for required parameter '{path}'."


def invalid_value(path: str, value: Any, message: str | None = None) -> str:
    try:
        shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = repr(value)
    text = f"Invalid value {shown} for parameter '{path}' supplied"
    return f"{text}: {message}" if message else f"{text}."


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    path = ".".join(str(part) for part in first.get("loc", ()))
    if first.get("type") == "missing":
        return missing_value(path)
    return invalid_value(path, first.get("input"), first.get("msg"))


def _query_arguments(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in request.query_params:
            continue
        if _is_list_field(field.annotation):
            arguments[name] = request.query_params.getlist(name)
        else:
            arguments[name] = request.query_params[name]
    return arguments


async def _body_arguments(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise InvalidParameter(f"request body exceeds {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    if not is_json_media_type(content_type):
        raise InvalidParameter(
            f"Bad Request. Content-Type must be 'application/json', got {content_type!r}"
        )
    try:
        arguments = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"Malformed JSON request body: {exc}") from None
    if not isinstance(arguments, dict):
        raise InvalidParameter("The request body must be a JSON object")
    return arguments


async def read_message(request: Request, model: type[Message]) -> Message:
    """The request's arguments as `model`, from the query string (GET) or the JSON body."""
    if request.method == "GET":
        arguments = _query_arguments(request, model)
    else:
        arguments = await _body_arguments(request)
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidParameter(_describe(exc)) from None
