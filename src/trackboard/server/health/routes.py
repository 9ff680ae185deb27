"""/healthz (the process answers), /readyz (each dependency, and whether this instance can
serve), /metrics (Prometheus)."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from trackboard.server.health.dependencies import DependencyProbes, DependencyStatus

router = APIRouter(tags=["health"])

RETRY_AFTER_S = 5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def check_dependencies(request: Request) -> list[DependencyStatus]:
    """Probe every dependency now, and record the result for Prometheus."""
    probes: DependencyProbes = request.app.state.dependencies
    found = await probes.check()
    request.app.state.instruments.dependencies.record((s.name, s.up) for s in found)
    return found


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when every required dependency answers (the primary database), else 503 with
    `Retry-After`; the body gives each dependency's state either way."""
    found = await check_dependencies(request)
    ready = all(s.up for s in found if s.required)
    body = {
        "status": "ready" if ready else "unavailable",
        "dependencies": {s.name: s.as_json() for s in found},
    }
    if ready:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    # `trackboard_dependency_up` is the last check's: the server checks in the background
    # every `dependency_probe_interval_s` (and at each /readyz), never per scrape, so that
    # scrapes from several Prometheus replicas add no load on the dependencies.
    return Response(request.app.state.instruments.exposition(), media_type=CONTENT_TYPE_LATEST)
