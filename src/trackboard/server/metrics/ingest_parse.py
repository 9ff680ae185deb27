"""The hot path's request parsing: the raw body straight into the Pydantic model.

FastAPI would decode the body with the standard `json` module and then validate the Python
objects: for a 10,000-point columnar batch that is ~4x the cost of pydantic-core reading the
JSON bytes itself (bench/ingest.py prints both forms). The route therefore takes the body
raw and documents it with the same model's schema, so /openapi.json does not change.
"""

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from trackboard.server.errors import InvalidParameter
from trackboard.server.metrics.batch import ParsedBatch, parse_batch
from trackboard.server.metrics.schemas import MetricBatch


def is_json_content_type(content_type: str | None) -> bool:
    """Only JSON bodies: a form or text/plain post from another site must not log metrics
    (the CSRF hole of FastAPI CVE-2021-32677, which FastAPI's own body parsing closes)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def parse_batch_body(body: bytes, content_type: str | None = "application/json") -> ParsedBatch:
    """Validate and columnarise one request body; errors become the usual 400s."""
    if not is_json_content_type(content_type):
        raise InvalidParameter("the request body must be JSON (Content-Type: application/json)")
    try:
        batch = MetricBatch.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    return parse_batch(batch)


def _inline_definitions(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        reference = schema.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inline_definitions(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {k: _inline_definitions(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_definitions(item, definitions) for item in schema]
    return schema


def request_body_openapi() -> dict[str, Any]:
    """`openapi_extra` for a route that reads the body itself but takes a `MetricBatch`."""
    schema = MetricBatch.model_json_schema()
    inline = _inline_definitions(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline}}}}
