"""HTTP routes of /api/v1/runs/{run_id}/metrics and of /api/v1/runs/{run_id}/batches (which
of a run's metric batches are committed)."""

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.degraded import cached_response
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.identifiers import INT64_MAX, RunId
from trackboard.server.json_types import INT64_MIN
from trackboard.server.metrics import service
from trackboard.server.metrics.ingest.parse import parse_batch_body, request_body_openapi
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.metrics.schemas import BatchAccepted, BatchStatusRead
from trackboard.server.metrics.values import render_values
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.runs import service as runs
from trackboard.server.unit_of_work import ReadSession, database

router = APIRouter(prefix="/api/v1/runs/{run_id}", tags=["metrics"])

# A status request names at most this many batches (100 of the client's 32-character ids
# make a URL of about 4 kB), and waits at most this long, within common proxy timeouts.
MAX_STATUS_BATCH_IDS = 100
MAX_STATUS_WAIT_S = 20.0
BatchId = Annotated[str, StringConstraints(min_length=1, max_length=64)]

HISTORY_EXAMPLE = {
    "key": "loss",
    "points": [{"step": 0, "value": 0.5, "timestamp": 1700000000000}],
    "next_page_token": None,
}


@router.post(
    "/metrics",
    responses={
        200: {"model": BatchAccepted, "description": "Committed (embedded mode)."},
        202: {"model": BatchAccepted, "description": "Durably queued (distributed mode)."},
        503: {"description": "The ingest queue is full or unreachable; see Retry-After."},
    },
    # The body is a `MetricBatch`, parsed from the raw bytes (see ingest.parse).
    openapi_extra=request_body_openapi(),
)
async def log_metrics(run_id: str, request: Request) -> JSONResponse:
    """Take one batch, all or nothing; a repeated `batch_id` is stored once.

    200 once stored (embedded mode), 202 once durably queued (distributed mode): its points
    are readable once `GET /api/v1/runs/{run_id}/batches?batch_id=…` lists it committed.
    """
    content_type = request.headers.get("content-type")
    batch_id, series = parse_batch_body(await request.body(), content_type)
    ingestor: Ingestor = request.app.state.ingestor
    run = await service.find_active_run(ingestor, database(request), run_id)
    result = await service.accept_batch(ingestor, run, series, batch_id)
    if result.position is not None:
        request.state.commit_position = result.position  # read_your_writes hands it back
    body = {
        "accepted": result.accepted,
        "duplicate": result.duplicate,
        "batch_id": result.pending_batch_id or batch_id,
        "committed": result.stored,
    }
    return JSONResponse(body, status_code=200 if result.stored else 202)


@router.get("/batches")
async def get_batch_status(
    run_id: RunId,
    request: Request,
    batch_id: Annotated[list[BatchId], Query(min_length=1, max_length=MAX_STATUS_BATCH_IDS)],
    wait_s: Annotated[float, Query(ge=0, le=MAX_STATUS_WAIT_S)] = 0.0,
) -> BatchStatusRead:
    """Which of these batches of the run are committed, i.e. their points readable.

    With `wait_s`, answers as soon as all are, or after `wait_s` seconds (a long-poll).
    With read replicas, the answer carries a commit position (`Trackboard-Read-After`, cookie
    `tb_read_after`) at or past the committed batches: reads that send it back see their
    points.
    """
    status = await service.batch_status(database(request), run_id, batch_id, wait_s)
    if status.position is not None:
        request.state.commit_position = status.position
    return BatchStatusRead(committed=status.committed, pending=status.pending)


@router.get(
    "/metrics/{key:path}",
    responses={200: {"content": {"application/json": {"example": HISTORY_EXAMPLE}}}},
)
async def get_metric_history(
    run_id: str,
    key: str,
    session: ReadSession,
    cache: ReadCache,
    max_points: Annotated[int | None, Query(ge=10, le=100_000)] = None,
    start_step: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
    end_step: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
    page_token: str | None = None,
    format: Literal["rows", "columns"] = "rows",
) -> Response:
    """A series in step order: whole (paged past 100,000 points) or downsampled. One read
    recently (and small enough to keep: `cache_aside`) is served, marked degraded, while
    the database is unreachable."""
    offset = token_int(decode_page_token(page_token), "offset")

    async def compute() -> bytes:
        await runs.get_run(session, run_id)
        window = (start_step, end_step, max_points)
        return await _history_body(session, run_id, key, offset, format, *window)

    query = [run_id, key, max_points, start_step, end_step, offset, format]
    cached = await cache.last_known_or_compute("history", orjson.dumps(query).decode(), compute)
    return cached_response(cached)


async def _history_body(
    session: AsyncSession,
    run_id: str,
    key: str,
    offset: int,
    format: Literal["rows", "columns"],
    start_step: int | None,
    end_step: int | None,
    max_points: int | None,
) -> bytes:
    page = await service.read_history(
        session,
        run_id,
        key,
        start_step=start_step,
        end_step=end_step,
        max_points=max_points,
        offset=offset,
    )
    points = page.points
    token = None if page.next_offset is None else encode_page_token({"offset": page.next_offset})
    steps = points.steps.tolist()
    values = render_values(points.values)
    timestamps = points.timestamps.tolist()
    if format == "columns":
        body = {"key": key, "steps": steps, "values": values, "timestamps": timestamps}
    else:
        body = {
            "key": key,
            "points": [
                {"step": s, "value": v, "timestamp": t}
                for s, v, t in zip(steps, values, timestamps, strict=True)
            ],
        }
    body["next_page_token"] = token
    return orjson.dumps(body)
