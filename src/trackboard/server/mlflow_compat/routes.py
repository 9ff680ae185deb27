"""The MLflow tracking API under `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow` for web UIs)."""

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from trackboard.server.mlflow_compat import experiment_routes, metric_routes, run_routes
from trackboard.server.mlflow_compat.errors import MlflowRoute, mlflow_error

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"

_PARTS = (experiment_routes.router, run_routes.router, metric_routes.router)


async def unknown_endpoint(path: str, request: Request) -> Response:
    """A JSON 404 the client reads as ENDPOINT_NOT_FOUND, never FastAPI's `{"detail": ...}`."""
    return mlflow_error(
        404, "ENDPOINT_NOT_FOUND", f"No API endpoint {request.method} {request.url.path}"
    )


def _prefixed(prefix: str, include_in_schema: bool) -> APIRouter:
    """All MLflow endpoints under `prefix`, each route carrying its full path.

    Routes are re-added rather than included with a prefix: an included route keeps its
    own short path in `scope["route"]`, and the gateway decides access by that path.
    """
    router = APIRouter(prefix=prefix, route_class=MlflowRoute)
    for part in _PARTS:
        for route in part.routes:
            assert isinstance(route, APIRoute)
            router.add_api_route(
                route.path,
                route.endpoint,
                methods=sorted(route.methods or ()),
                name=route.name,
                include_in_schema=include_in_schema,
                tags=["mlflow"],
            )
    router.add_api_route(
        "/{path:path}",
        unknown_endpoint,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    return router


router = APIRouter()
router.include_router(_prefixed(API_PREFIX, include_in_schema=True))
# The same endpoints for MLflow's web UI, left out of the OpenAPI document (it would repeat).
router.include_router(_prefixed(AJAX_PREFIX, include_in_schema=False))
