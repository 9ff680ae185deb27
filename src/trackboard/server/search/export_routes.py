"""HTTP route of /api/v1/runs/export: a search's every run as a streamed file."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.search import export
from trackboard.server.search.export_schemas import RunExport
from trackboard.server.unit_of_work import read_session

router = APIRouter(prefix="/api/v1/runs", tags=["search"])

# Request scope, unlike `ReadSession`: the transaction must outlive the endpoint, since the
# file is read from the database while the response streams, and it ends after the last byte.
StreamingSession = Annotated[AsyncSession, Depends(read_session, scope="request")]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@router.post(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
async def export_runs(body: RunExport, session: StreamingSession) -> StreamingResponse:
    query = export.ExportQuery(
        experiment_ids=body.experiment_ids,
        filter_text=body.filter,
        order_by=body.order_by,
        lifecycle=body.lifecycle_stage,
    )
    query.check()
    columns = None if body.columns is None else export.check_columns(body.columns)
    content: AsyncIterator[bytes]
    if body.format == "jsonl":
        content = export.export_jsonl(session, query, columns)
    else:
        if columns is None:
            columns = await export.matching_columns(session, query)
        content = export.export_csv(session, query, columns)
    filename = f"runs.{body.format}"
    return StreamingResponse(
        content,
        media_type=MEDIA_TYPES[body.format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
