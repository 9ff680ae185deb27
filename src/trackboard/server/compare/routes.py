"""HTTP route of /api/v1/runs/compare: one compare chart in one request."""

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import APIRouter, Response

from trackboard.server.compare import service
from trackboard.server.compare.schemas import CompareSeries, CompareSeriesQuery
from trackboard.server.metrics.values import render_values
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(prefix="/api/v1/runs", tags=["compare"])


@router.post("/compare", responses={200: {"model": CompareSeries}})
async def compare_series(body: CompareSeriesQuery, session: ReadSession) -> Response:
    """One metric key over many runs (of any experiments), for one compare chart: per run its
    series downsampled to `max_points` (`lines`: always when ungrouped, else when asked),
    and per group the mean, min, max and population std of its runs on a common x grid of
    at most `max_points` values (each run interpolated inside its own range, gaps kept).
    Every run id is authorized, and one the caller may not read refuses the request."""
    comparison = await service.compare_series(session, body)
    lines = [
        {
            "run_id": line.run_id,
            "steps": line.points.steps.tolist(),
            "values": render_values(line.points.values),
            "timestamps": line.points.timestamps.tolist(),
        }
        for line in comparison.lines
    ]
    groups = [
        {
            "name": group.name,
            "run_count": group.run_count,
            "x": group.band.x.tolist(),
            "count": group.band.count.tolist(),
            "mean": _nullable(group.band.mean),
            "min": _nullable(group.band.low),
            "max": _nullable(group.band.high),
            "std": _nullable(group.band.std),
            "steps": _nullable(group.band.steps),
        }
        for group in comparison.groups
    ]
    # Built as JSON directly: a model of 100 runs' columns costs more than the reads.
    body_json = {"key": body.key, "x": body.x, "lines": lines, "groups": groups}
    return Response(orjson.dumps(body_json), media_type="application/json")


def _nullable(values: npt.NDArray[np.float64]) -> list[float | None]:
    listed: list[float | None] = values.tolist()
    for index in np.flatnonzero(np.isnan(values)).tolist():
        listed[index] = None
    return listed
