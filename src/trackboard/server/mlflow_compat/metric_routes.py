"""MLflow's metric endpoints: log-metric, log-batch and history, on our metrics services.

Points go through `metrics.service.accept_batch`, the entry the v1 API uses: the same
back-pressure (503 + Retry-After), durability before the 2xx, `points_ingested` count, live
events and compaction notes, so a point logged through either API is one point in one store.

Identical points. MLflow keeps one copy of an identical (key, value, timestamp, step) point.
Here a request's identical points are kept once, and each request's batch id is derived from
its points (`content_batch_id`), so a request sent again whole (a client retry after a 503 or
a lost answer, or the same point logged twice) is stored once while its id is remembered
(`TRACKBOARD_INGEST_BATCH_ID_RETENTION_DAYS`). A point repeated inside a *different* set of
points is stored again; MLflow would keep one copy.
"""

import hashlib
import math
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import APIRouter, Request, Response

from trackboard.server.degraded import cached_response
from trackboard.server.errors import InvalidParameter
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.identifiers import parse_model_id
from trackboard.server.logged_models import service as logged_models
from trackboard.server.logged_models.schemas import ModelMetricIn
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.ingest.parse import INT64_MAX, INT64_MIN
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.metrics.points import Points, Series
from trackboard.server.metrics.values import parse_value, render_value
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import invalid_value, missing_value, read_message
from trackboard.server.mlflow_compat.run_routes import active_run
from trackboard.server.mlflow_compat.translate import json_response
from trackboard.server.models import Run
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.runs import service as runs
from trackboard.server.unit_of_work import ReadSession, database, write_session

router = APIRouter(route_class=MlflowRoute)

Point = tuple[int, int, float]  # step, timestamp, value
# The request's unit of work, opened and committed inside a handler rather than around it:
# points must be accepted after that commit (see `log_batch`).
write_transaction = asynccontextmanager(write_session)


def _int64(value: int, path: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidParameter(invalid_value(path, value, "must be a 64-bit integer"))
    return value


def parse_metric(metric: schemas.MetricIn | schemas.LogMetric, path: str) -> tuple[str, Point]:
    """One metric point as MLflow validates it: key, numeric value, timestamp >= 0, step."""
    key = validation.check_key(metric.key, f"{path}key", "metric")
    if metric.value is None:
        raise InvalidParameter(missing_value(f"{path}value"))
    if isinstance(metric.value, str) and metric.value.strip() != metric.value:
        raise InvalidParameter(invalid_value(f"{path}value", metric.value))
    try:
        value = parse_value(metric.value)
    except InvalidParameter:
        raise InvalidParameter(
            invalid_value(f"{path}value", metric.value, "Please specify value as a valid double")
        ) from None
    if metric.timestamp is None:
        raise InvalidParameter(missing_value(f"{path}timestamp"))
    timestamp = _int64(metric.timestamp, f"{path}timestamp")
    if timestamp < 0:
        raise InvalidParameter(
            invalid_value(f"{path}timestamp", timestamp, "Timestamp must be a nonnegative long")
        )
    step = _int64(metric.step or 0, f"{path}step")
    return key, (step, timestamp, value)


def _identity(key: str, point: Point) -> tuple[str, int, int, str]:
    step, timestamp, value = point
    return key, step, timestamp, "nan" if math.isnan(value) else float(value).hex()


def content_batch_id(identities: list[tuple[str, int, int, str]]) -> str:
    """A batch id that only the same set of points gives (MLflow's client sends none)."""
    digest = hashlib.blake2b(digest_size=16)
    for key, step, timestamp, value in sorted(identities):
        digest.update(f"{key}\x00{step}\x00{timestamp}\x00{value}\n".encode())
    return f"mlflow-{digest.hexdigest()}"


def to_batch(points: list[tuple[str, Point]]) -> tuple[str, Series]:
    """The request's points as one batch, identical points once: (its id from its content,
    its points)."""
    by_key: dict[str, list[Point]] = {}
    seen: set[tuple[str, int, int, str]] = set()
    for key, point in points:
        identity = _identity(key, point)
        if identity not in seen:
            seen.add(identity)
            by_key.setdefault(key, []).append(point)
    series = {
        key: Points(
            np.array([p[0] for p in rows], dtype=np.int64),
            np.array([p[1] for p in rows], dtype=np.int64),
            np.array([p[2] for p in rows], dtype=np.float64),
        )
        for key, rows in by_key.items()
    }
    return content_batch_id(list(seen)), series


async def _active_run_on_primary(request: Request, run_id: str) -> Run:
    """The run, checked outside any transaction (points are accepted after it): read on the
    primary, or as read moments ago and unchanged since (`metrics.find_run`), with
    MLflow's answer for a run that is not active."""
    ingestor: Ingestor = request.app.state.ingestor
    run = await metrics.find_run(ingestor, database(request), run_id)
    if run.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {run.lifecycle_stage}."
        )
    return run


def model_metrics(
    messages: Sequence[schemas.MetricIn | schemas.LogMetric], points: list[tuple[str, Point]]
) -> list[ModelMetricIn]:
    """The points logged with a `model_id` (MLflow 3), as the model's metrics."""
    found = []
    for message, (key, (step, timestamp, value)) in zip(messages, points, strict=True):
        if message.model_id:
            found.append(
                ModelMetricIn(
                    parse_model_id(message.model_id),
                    key,
                    value,
                    timestamp,
                    step,
                    message.dataset_name or None,
                    message.dataset_digest or None,
                )
            )
    return found


async def _accept_points(request: Request, run: Run, points: list[tuple[str, Point]]) -> None:
    ingestor: Ingestor = request.app.state.ingestor
    batch_id, series = to_batch(points)
    await metrics.accept_batch(ingestor, run, series, batch_id)


@router.post("/runs/log-metric")
async def log_metric(request: Request) -> Response:
    message = await read_message(request, schemas.LogMetric)
    run_id = message.required_run_id()
    point = parse_metric(message, "")
    for_models = model_metrics([message], [point])
    if for_models:
        async with write_transaction(request) as session:
            run = await active_run(session, run_id)
            await logged_models.log_metrics(session, run_id, for_models)
    else:
        run = await _active_run_on_primary(request, run_id)
    await _accept_points(request, run, [point])
    return json_response({})


@router.post("/runs/log-batch")
async def log_batch(request: Request) -> Response:
    """Everything validated first; then params, tags and the points of logged models
    (`model_id`, MLflow 3) committed; then the points accepted into the run's series.

    All or nothing, in this order because the likely failure comes last: a refusal of the
    points (503 + Retry-After: queue full or unreachable) may leave the params and tags
    committed, and the client's retry of the same request converges (a param logged again
    with the same value is accepted, a tag is overwritten, and the points' content-derived
    batch id keeps them from being stored twice; a model's points already stored are not
    stored again). Every 4xx (bad input, a param changing value, an inactive run, an unknown
    model) comes before anything is written. Accepting the points first instead would turn
    a failed params write into points stored for a request that got a 4xx and is never
    retried. The params/tags transaction is committed before the points are
    accepted because the embedded writer needs the SQLite write lock that it would hold.
    """
    message = await read_message(request, schemas.LogBatch)
    run_id = message.required_run_id()
    validation.check_run_id(run_id)
    validation.check_batch_sizes(len(message.metrics), len(message.params), len(message.tags))
    points = [parse_metric(m, f"metrics[{i}].") for i, m in enumerate(message.metrics)]
    params: dict[str, str] = {}
    for index, param in enumerate(message.params):
        key = validation.check_key(param.key, f"params[{index}].key", "param")
        if key in params:
            duplicates = [p.key for p in message.params if p.key == key]
            raise InvalidParameter(
                f"Duplicate parameter keys have been submitted: {duplicates[1:]}. Please ensure "
                "the request contains only one param value per param key."
            )
        params[key] = validation.param_value(param.value)
    tags: dict[str, str] = {}
    for index, tag in enumerate(message.tags):
        key = validation.check_key(tag.key, f"tags[{index}].key", "tag")
        tags[key] = validation.tag_value(tag.value)
    for_models = model_metrics(message.metrics, points)
    if params or tags or for_models:
        async with write_transaction(request) as session:
            run = await active_run(session, run_id)
            if params:
                await runs.log_params(session, run_id, params)
            if tags:
                await runs.set_tags(session, run_id, tags)
            if for_models:
                await logged_models.log_metrics(session, run_id, for_models)
    else:
        run = await _active_run_on_primary(request, run_id)
    if points:
        await _accept_points(request, run, points)
    return json_response({})


def _history_order(points: Points) -> Points:
    """MLflow lists a history by timestamp, then step, then value.

    Points arrive in step order, and a series logged as it trains has timestamps that never
    go back: then (timestamp, step) already rises strictly and the sort, a third of a 100k
    history's time, is skipped."""
    timestamps, steps = points.timestamps, points.steps
    if len(timestamps) < 2:
        return points
    later = np.diff(timestamps)
    if bool(np.all((later > 0) | ((later == 0) & (np.diff(steps) > 0)))):
        return points
    return points.take(np.lexsort((points.values, points.steps, points.timestamps)))


def _metric_rows_json(key: str, points: Points) -> bytes:
    """The JSON array of MLflow's metric rows (key, value, timestamp, step), built column
    by column: what `translate.metric_json` gives per point, byte for byte.

    orjson writes each numpy column in one call and the rows are joined from the pieces, as
    text (joining 700k `bytes` is 20 times slower than joining `str`); a dict per point cost
    ~four fifths of a 100k history's time. Non-finite values become the strings MLflow's
    clients expect (orjson would write null)."""
    count = len(points)
    if count == 0:
        return b"[]"
    values = _numpy_json(points.values)
    for index in np.flatnonzero(~np.isfinite(points.values)).tolist():
        values[index] = orjson.dumps(render_value(float(points.values[index]))).decode()
    parts = ["},{"] * (7 * count)
    parts[0::7] = ['"key":' + orjson.dumps(key).decode() + ',"value":'] * count
    parts[1::7] = values
    parts[2::7] = [',"timestamp":'] * count
    parts[3::7] = _numpy_json(points.timestamps)
    parts[4::7] = [',"step":'] * count
    parts[5::7] = _numpy_json(points.steps)
    parts[-1] = "}]"
    return ("[{" + "".join(parts)).encode()


def _numpy_json(column: npt.NDArray[Any]) -> list[str]:
    """Each element of a numeric column as JSON text (a comma never occurs inside one)."""
    return orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")


@router.get("/metrics/get-history")
async def get_metric_history(request: Request, session: ReadSession, cache: ReadCache) -> Response:
    message = await read_message(request, schemas.GetMetricHistory)
    run_id = message.required_run_id()
    key = schemas.required(message.metric_key, "metric_key")
    if message.max_results is not None and message.max_results <= 0:
        raise InvalidParameter(
            f"Invalid value {message.max_results} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    offset = validation.page_offset(token_int(decode_page_token(message.page_token), "offset"))

    async def compute() -> bytes:
        # MLflow answers an unknown run with an empty history, not an error.
        points = _history_order(await metrics.read_series(session, run_id, key))
        end = len(points) if message.max_results is None else offset + message.max_results
        page = points.take(slice(offset, end))
        # Written as bytes: see `_metric_rows_json`. An empty page has no "metrics" field.
        fields = [b'"metrics":' + _metric_rows_json(key, page)] if len(page) else []
        if end < len(points):
            token = encode_page_token({"offset": end})
            fields.append(b'"next_page_token":' + orjson.dumps(token))
        return b"{" + b",".join(fields) + b"}"

    # A history recently read (and small enough to keep: `cache_aside`) is served, marked
    # degraded, while the database is unreachable.
    query = orjson.dumps([run_id, key, offset, message.max_results]).decode()
    return cached_response(await cache.last_known_or_compute("mlflow_history", query, compute))
