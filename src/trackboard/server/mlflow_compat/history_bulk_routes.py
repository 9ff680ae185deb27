"""MLflow's bulk metric histories: several runs' points of one key, sampled or in full.

Both read through `metrics.service.read_series` and order and sample as MLflow's SQL store
does (`history_sampling`), with MLflow's limits and messages.
"""

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.errors import InvalidParameter
from trackboard.server.metrics import service as metrics
from trackboard.server.metrics.points import Points
from trackboard.server.mlflow_compat import schemas, validation
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.history_sampling import history_order, sample_history
from trackboard.server.mlflow_compat.messages import API_DOCS_HINT, missing_value, read_message
from trackboard.server.mlflow_compat.translate import json_response, metric_rows
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(route_class=MlflowRoute)
# Served by MLflow under /ajax-api only: its web UI's endpoints, not part of the REST API.
ajax_router = APIRouter(route_class=MlflowRoute)

MAX_RESULTS_PER_RUN = 2500
MAX_BULK_HISTORY_RESULTS = 25_000


def _interval_arguments(
    message: schemas.GetMetricHistoryBulkInterval,
) -> tuple[str, int, int | None, int | None]:
    """(metric key, points per run, start step, end step), checked in MLflow's order."""
    if not message.run_ids:
        raise InvalidParameter(missing_value("run_ids") + API_DOCS_HINT)
    if len(message.run_ids) > validation.MAX_BULK_RUN_IDS:
        raise InvalidParameter(
            "GetMetricHistoryBulkInterval request must specify at most "
            f"{validation.MAX_BULK_RUN_IDS} run_ids. Received {len(message.run_ids)} run_ids."
            + API_DOCS_HINT
        )
    if not message.metric_key:
        raise InvalidParameter(missing_value("metric_key") + API_DOCS_HINT)
    start = validation.int_like(message.start_step, "start_step")
    end = validation.int_like(message.end_step, "end_step")
    per_run = validation.int_like(message.max_results, "max_results")
    if per_run is None:
        per_run = MAX_RESULTS_PER_RUN
    elif not 1 <= per_run <= MAX_RESULTS_PER_RUN:
        raise InvalidParameter(
            f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}." + API_DOCS_HINT
        )
    if (start is None) != (end is None):
        raise InvalidParameter(
            "If either start step or end step are specified, both must be specified."
        )
    if start is not None and end is not None and start > end:
        raise InvalidParameter(
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )
    return message.metric_key, per_run, start, end


@router.get("/metrics/get-history-bulk-interval")
async def get_metric_history_bulk_interval(request: Request, session: ReadSession) -> Response:
    """`max_results` evenly spaced points per run, the first and last included, for the runs
    in the order asked (a run named twice is answered twice, as MLflow does)."""
    message = await read_message(request, schemas.GetMetricHistoryBulkInterval)
    key, per_run, start, end = _interval_arguments(message)
    sampled: dict[str, Points] = {}
    rows: list[dict[str, Any]] = []
    for run_id in message.run_ids:
        if run_id not in sampled:
            points = await metrics.read_series(session, run_id, key, start, end)
            sampled[run_id] = sample_history(points, per_run)
        rows += metric_rows(key, sampled[run_id], run_id)
    # An unknown run or key has no points, as on MLflow's server.
    return json_response({"metrics": rows} if rows else {})


def _bulk_limit(value: str | None) -> int:
    limit = validation.int_like(value, "max_results")
    if limit is None:
        return MAX_BULK_HISTORY_RESULTS
    if limit < 0:
        # MLflow passes a negative limit on to SQL (SQLite: no limit; PostgreSQL: an error).
        raise InvalidParameter(
            f"Invalid value {limit} for parameter 'max_results' supplied. "
            "It must be a non-negative integer."
        )
    return min(limit, MAX_BULK_HISTORY_RESULTS)


async def _bulk_rows(
    session: AsyncSession, run_ids: list[str], key: str, limit: int
) -> list[dict[str, Any]]:
    """At most `limit` points in all, by run id, then timestamp, step and value."""
    rows: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        if len(rows) >= limit:
            break
        points = history_order(await metrics.read_series(session, run_id, key))
        rows += metric_rows(key, points.take(slice(0, limit - len(rows))), run_id)
    return rows


@ajax_router.get("/metrics/get-history-bulk")
async def get_metric_history_bulk(request: Request, session: ReadSession) -> Response:
    """Every point of one key for up to 100 runs, 25,000 points in all, unsampled."""
    message = await read_message(request, schemas.GetMetricHistoryBulk)
    if not message.run_id:
        raise InvalidParameter("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(message.run_id) > validation.MAX_BULK_RUN_IDS:
        raise InvalidParameter(
            "GetMetricHistoryBulk request cannot specify more than "
            f"{validation.MAX_BULK_RUN_IDS} run_ids. Received {len(message.run_id)} run_ids."
        )
    if message.metric_key is None:
        raise InvalidParameter("GetMetricHistoryBulk request must specify a metric_key.")
    limit = _bulk_limit(message.max_results)
    rows = await _bulk_rows(session, message.run_id, message.metric_key, limit)
    # Unlike its protobuf endpoints, MLflow writes this list even when it is empty.
    return json_response({"metrics": rows})
