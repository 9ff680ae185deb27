"""The hot path's request parsing: the raw body straight into the Pydantic model, then into
per-key point columns, every key and value checked.

FastAPI would decode the body with the standard `json` module and then validate the Python
objects: for a 10,000-point columnar batch that is ~4x the cost of pydantic-core reading the
JSON bytes itself (bench/ingest.py prints both forms). The route therefore takes the body
raw and documents it with the same model's schema, so /openapi.json does not change.
"""

from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter
from trackboard.server.limits import MAX_POINTS_PER_BATCH, check_key
from trackboard.server.metrics.points import Points, Series
from trackboard.server.metrics.schemas import MetricBatch
from trackboard.server.metrics.values import parse_value, parse_values

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int64_column(numbers: list[int], what: str) -> npt.NDArray[np.int64]:
    try:
        return np.asarray(numbers, dtype=np.int64)
    except OverflowError:
        raise InvalidParameter(f"metric {what} out of the 64-bit integer range") from None


def parse_series(batch: MetricBatch) -> Series:
    """The batch's points as per-key columns; a missing timestamp is now."""
    now = now_ms()
    parts: dict[str, list[Points]] = defaultdict(list)
    rows: dict[str, tuple[list[int], list[int], list[float]]] = defaultdict(lambda: ([], [], []))
    for point in batch.metrics:
        steps, timestamps, values = rows[point.key]
        steps.append(point.step)
        timestamps.append(point.timestamp if point.timestamp is not None else now)
        values.append(parse_value(point.value))
    for key, (steps, timestamps, values) in rows.items():
        parts[key].append(
            Points(
                _int64_column(steps, "step"),
                _int64_column(timestamps, "timestamp"),
                np.asarray(values, dtype=np.float64),
            )
        )
    for column in batch.columns:
        n = len(column.steps)
        timestamps = column.timestamps if column.timestamps is not None else [now] * n
        if len(column.values) != n or len(timestamps) != n:
            raise InvalidParameter(
                f"metric {column.key!r}: steps, values and timestamps must have the same length"
            )
        parts[column.key].append(
            Points(
                _int64_column(column.steps, "step"),
                _int64_column(timestamps, "timestamp"),
                parse_values(column.values),
            )
        )
    series = {key: Points.concat(chunks) for key, chunks in parts.items()}
    for key in series:
        check_key("metric", key)
    point_count = sum(len(points) for points in series.values())
    if point_count > MAX_POINTS_PER_BATCH:
        raise InvalidParameter(
            f"a batch holds at most {MAX_POINTS_PER_BATCH} points, got {point_count}"
        )
    return series


def is_json_content_type(content_type: str | None) -> bool:
    """Only JSON bodies: a form or text/plain post from another site must not log metrics
    (the CSRF hole of FastAPI CVE-2021-32677, which FastAPI's own body parsing closes)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def parse_batch_body(
    body: bytes, content_type: str | None = "application/json"
) -> tuple[str | None, Series]:
    """Validate and columnarise one request body: (its batch id, its points); errors become
    the usual 400s."""
    if not is_json_content_type(content_type):
        raise InvalidParameter("the request body must be JSON (Content-Type: application/json)")
    try:
        batch = MetricBatch.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
    return batch.batch_id, parse_series(batch)


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
