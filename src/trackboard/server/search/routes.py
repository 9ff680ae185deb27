"""HTTP route of /api/v1/runs/search."""

import orjson
from fastapi import APIRouter, Response

from trackboard.server.pagination import decode_page_token, encode_page_token, token_int
from trackboard.server.runs import service as runs
from trackboard.server.search import service
from trackboard.server.search.schemas import RunPage, RunSearch
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/runs", tags=["search"])


@router.post("/search", response_model=RunPage)
async def search_runs(body: RunSearch, session: ReadSession) -> Response:
    page = await service.search_runs(
        session,
        experiment_ids=body.experiment_ids,
        filter_text=body.filter,
        order_by=body.order_by,
        lifecycle=body.lifecycle_stage,
        offset=token_int(decode_page_token(body.page_token), "offset"),
        limit=body.limit,
    )
    token = None if page.next_offset is None else encode_page_token({"offset": page.next_offset})
    described = {"runs": await runs.describe_runs(session, page.runs), "next_page_token": token}
    # Serialised here rather than by FastAPI, which would validate the page over again.
    return Response(orjson.dumps(described), media_type="application/json")
