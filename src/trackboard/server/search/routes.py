"""HTTP route of /api/v1/runs/search."""

import orjson
from fastapi import APIRouter, Response

from trackboard.server.degraded import cached_response
from trackboard.server.gateway.dependencies import ReadCache
from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.runs import service as runs
from trackboard.server.search import service
from trackboard.server.search.schemas import RunPage, RunSearch
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/runs", tags=["search"])


@router.post("/search", response_model=RunPage)
async def search_runs(body: RunSearch, session: ReadSession, cache: ReadCache) -> Response:
    async def compute() -> bytes:
        page = await service.search_runs(
            session,
            experiment_ids=body.experiment_ids,
            filter_text=body.filter,
            order_by=body.order_by,
            lifecycle=body.lifecycle_stage,
            offset=token_int(decode_page_token(body.page_token), "offset"),
            limit=body.limit,
        )
        next_offset = page.next_offset
        token = None if next_offset is None else encode_page_token({"offset": next_offset})
        runs_read = await runs.describe_runs(session, page.runs)
        # Serialised here rather than by FastAPI, which would validate the page over again.
        return orjson.dumps({"runs": runs_read, "next_page_token": token})

    # Always computed; the last page seen of each query stands in while the database is
    # unreachable. The gateway authorized the query's experiments, which the key names.
    return cached_response(
        await cache.last_known_or_compute("run_search", body.model_dump_json(), compute)
    )
