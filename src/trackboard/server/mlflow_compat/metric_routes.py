"""MLflow's metric endpoints: log-metric, log-batch and history, on our metrics services.

Writes go through `metrics.service.store_batch` in the request's transaction, the same path
as the v1 API, so a point logged through either API is one point in one store.
"""

from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from trackboard.server.errors import InvalidParameter
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.batch import INT64_MAX, INT64_MIN, ParsedBatch
from trackboard.server.metrics.chunk_codec import Points
from trackboard.server.metrics.downsample import downsample
from trackboard.server.metrics.values import parse_value
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import invalid_value, missing_value, read_message
from trackboard.server.mlflow_compat.run_routes import active_run
from trackboard.server.mlflow_compat.translate import json_response, metric_json
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.runs import service as runs
from trackboard.server.unit_of_work import ReadSession, WriteSession

router = APIRouter(route_class=MlflowRoute)

MAX_BULK_RESULTS_PER_RUN = 2500
Point = tuple[int, int, float]  # step, timestamp, value


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


def to_batch(points: list[tuple[str, Point]]) -> ParsedBatch:
    by_key: dict[str, list[Point]] = {}
    for key, point in points:
        by_key.setdefault(key, []).append(point)
    series = {
        key: Points(
            np.array([p[0] for p in rows], dtype=np.int64),
            np.array([p[1] for p in rows], dtype=np.int64),
            np.array([p[2] for p in rows], dtype=np.float64),
        )
        for key, rows in by_key.items()
    }
    return ParsedBatch(batch_id=None, series=series)


@router.post("/runs/log-metric")
async def log_metric(request: Request, session: WriteSession) -> Response:
    message = await read_message(request, schemas.LogMetric)
    run_id = message.required_run_id()
    point = parse_metric(message, "")
    run = await active_run(session, run_id)
    await metrics.store_batch(session, run.id, run.experiment_id, to_batch([point]))
    return json_response({})


@router.post("/runs/log-batch")
async def log_batch(request: Request, session: WriteSession) -> Response:
    """Params, then metrics, then tags, all in one transaction: all or nothing."""
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
    run = await active_run(session, run_id)
    if params:
        await runs.log_params(session, run_id, params)
    if points:
        await metrics.store_batch(session, run.id, run.experiment_id, to_batch(points))
    if tags:
        await runs.set_tags(session, run_id, tags)
    return json_response({})


def _history_order(points: Points) -> Points:
    """MLflow lists a history by timestamp, then step, then value."""
    return points.take(np.lexsort((points.values, points.steps, points.timestamps)))


def _metric_rows(key: str, points: Points, run_id: str | None = None) -> list[dict[str, Any]]:
    rows = []
    for step, timestamp, value in zip(
        points.steps.tolist(), points.timestamps.tolist(), points.values.tolist(), strict=True
    ):
        row = metric_json(key, value, timestamp, step)
        if run_id is not None:
            row["run_id"] = run_id
        rows.append(row)
    return rows


@router.get("/metrics/get-history")
async def get_metric_history(request: Request, session: ReadSession) -> Response:
    message = await read_message(request, schemas.GetMetricHistory)
    run_id = message.required_run_id()
    key = schemas.required(message.metric_key, "metric_key")
    if message.max_results is not None and message.max_results <= 0:
        raise InvalidParameter(
            f"Invalid value {message.max_results} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    # MLflow answers an unknown run with an empty history, not an error.
    points = _history_order(await metrics.read_series(session, run_id, key))
    offset = validation.page_offset(token_int(decode_page_token(message.page_token), "offset"))
    end = len(points) if message.max_results is None else offset + message.max_results
    body: dict[str, Any] = {"metrics": _metric_rows(key, points.take(slice(offset, end)))}
    if end < len(points):
        body["next_page_token"] = encode_page_token({"offset": end})
    if not body["metrics"]:
        del body["metrics"]
    return json_response(body)


@router.get("/metrics/get-history-bulk-interval")
async def get_metric_history_bulk_interval(request: Request, session: ReadSession) -> Response:
    """Up to `max_results` points per run (bucket extremes kept), in step order per run."""
    message = await read_message(request, schemas.GetMetricHistoryBulkInterval)
    key = schemas.required(message.metric_key, "metric_key")
    if not message.run_ids:
        raise InvalidParameter(missing_value("run_ids"))
    if len(message.run_ids) > validation.MAX_BULK_RUN_IDS:
        raise InvalidParameter(
            "GetMetricHistoryBulkInterval request must specify at most "
            f"{validation.MAX_BULK_RUN_IDS} run_ids. Received {len(message.run_ids)} run_ids."
        )
    per_run = message.max_results or MAX_BULK_RESULTS_PER_RUN
    if not 1 <= per_run <= MAX_BULK_RESULTS_PER_RUN:
        raise InvalidParameter(f"max_results must be between 1 and {MAX_BULK_RESULTS_PER_RUN}.")
    start, end = message.start_step, message.end_step
    if (start is None) != (end is None):
        raise InvalidParameter(
            "If either start step or end step are specified, both must be specified."
        )
    if start is not None and end is not None and start > end:
        raise InvalidParameter(
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )
    rows: list[dict[str, Any]] = []
    for run_id in sorted(set(message.run_ids)):
        points = await metrics.read_series(session, run_id, key, start, end)
        sampled = downsample(points, per_run).take(slice(0, per_run))
        rows.extend(_metric_rows(key, sampled, run_id))
    return json_response({"metrics": rows} if rows else {})
