"""The MLflow tracking API under `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow` for web UIs)."""

from fastapi import APIRouter, Request, Response

from trackboard.server.mlflow_compat import experiment_routes, metric_routes, run_routes
from trackboard.server.mlflow_compat.errors import MlflowRoute, mlflow_error

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"

_endpoints = APIRouter(route_class=MlflowRoute)
for _part in (experiment_routes.router, run_routes.router, metric_routes.router):
    _endpoints.include_router(_part)

_unknown = APIRouter(route_class=MlflowRoute)


@_unknown.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown_endpoint(path: str, request: Request) -> Response:
    """A JSON 404 the client reads as ENDPOINT_NOT_FOUND, never FastAPI's `{"detail": ...}`."""
    return mlflow_error(
        404, "ENDPOINT_NOT_FOUND", f"No API endpoint {request.method} {request.url.path}"
    )


router = APIRouter()
router.include_router(_endpoints, prefix=API_PREFIX, tags=["mlflow"])
router.include_router(_unknown, prefix=API_PREFIX)
# The same endpoints for MLflow's web UI, left out of the OpenAPI document (it would repeat).
router.include_router(_endpoints, prefix=AJAX_PREFIX, include_in_schema=False)
router.include_router(_unknown, prefix=AJAX_PREFIX)
