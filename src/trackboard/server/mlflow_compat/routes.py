"""The MLflow tracking API under `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow` for web UIs).

Everything else MLflow serves under those prefixes and under `/api/3.0/mlflow` answers
ENDPOINT_NOT_FOUND, naming the MLflow feature that Trackboard does not have
(`docs/mlflow.md` lists every endpoint).
"""

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from trackboard.server.mlflow_compat import (
    artifact_routes,
    experiment_routes,
    history_bulk_routes,
    input_routes,
    logged_model_routes,
    metric_routes,
    run_routes,
)
from trackboard.server.mlflow_compat.errors import MlflowRoute, mlflow_error

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"
# MLflow 3's own endpoints (traces, scorers, jobs…): none is served, all are named.
API_V3_PREFIX = "/api/3.0/mlflow"
AJAX_V3_PREFIX = "/ajax-api/3.0/mlflow"

_PARTS = (
    experiment_routes.router,
    run_routes.router,
    input_routes.router,
    logged_model_routes.router,
    metric_routes.router,
    history_bulk_routes.router,
    artifact_routes.router,
)
_AJAX_PARTS = (*_PARTS, history_bulk_routes.ajax_router)

# MLflow 2's record of a model in a run tag; MLflow 3's client creates logged models instead.
LOG_MODEL_V2 = "MLflow 2's log-model record (MLflow 3 clients use logged models)"
# MLflow features out of Trackboard's scope, by the first parts of their endpoints' paths
# (after `/mlflow/`). Each name reads before "is not supported by Trackboard".
UNSUPPORTED_FEATURES: dict[str, str] = {
    "registered-models": "The model registry",
    "model-versions": "The model registry",
    "runs/log-model": LOG_MODEL_V2,
    "traces": "Tracing",
    "unified-traces": "Tracing",
    "get-online-trace-details": "Tracing",
    "get-trace-artifact": "Tracing",
    "prompt-optimization": "Prompt optimization",
    "runs/create-promptlab-run": "The prompt lab",
    "gateway": "The AI gateway",
    "gateway-proxy": "The AI gateway",
    "webhooks": "The webhooks API",
    "jobs": "The jobs API",
    "scorers": "The scorers API",
    "scorer": "The scorers API",
    "genai": "GenAI evaluation",
    "datasets": "Evaluation dataset management",
    "experiments/search-datasets": "Dataset search",
    "label-schemas": "Human feedback (label schemas and review queues)",
    "review-queues": "Human feedback (label schemas and review queues)",
    "issues": "Issue detection",
    "workspaces": "The workspaces API",
    "server-info": "MLflow's server-info endpoint",
    "demo": "Demo data generation",
    "ui-telemetry": "MLflow's UI telemetry",
    "artifacts/presigned-download-url": "Presigned artifact URLs",
    "artifacts/presigned-upload-url": "Presigned artifact URLs",
    "upload-artifact": "Artifact upload from MLflow's web UI",
}


def unsupported_feature(path: str) -> str | None:
    """The MLflow feature an endpoint path (after `/mlflow/`) belongs to, if out of scope."""
    parts = path.strip("/").split("/")
    # The longest prefix decides: `runs/log-model` before a bare `runs`.
    for length in range(len(parts), 0, -1):
        feature = UNSUPPORTED_FEATURES.get("/".join(parts[:length]))
        if feature:
            return feature
    return None


async def unknown_endpoint(path: str, request: Request) -> Response:
    """A JSON 404 the client reads as ENDPOINT_NOT_FOUND, never FastAPI's `{"detail": ...}`."""
    endpoint = f"{request.method} {request.url.path}"
    feature = unsupported_feature(path)
    if feature:
        message = f"{feature} is not supported by Trackboard (API endpoint {endpoint})"
    else:
        message = f"No API endpoint {endpoint}"
    return mlflow_error(404, "ENDPOINT_NOT_FOUND", message)


def _prefixed(prefix: str, parts: tuple[APIRouter, ...], include_in_schema: bool) -> APIRouter:
    """All MLflow endpoints of `parts` under `prefix`, each route carrying its full path.

    Routes are re-added rather than included with a prefix: an included route keeps its
    own short path in `scope["route"]`, and the gateway decides access by that path.
    """
    router = APIRouter(prefix=prefix, route_class=MlflowRoute)
    for part in parts:
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
router.include_router(_prefixed(API_PREFIX, _PARTS, include_in_schema=True))
# The same endpoints for MLflow's web UI, left out of the OpenAPI document (it would repeat).
router.include_router(_prefixed(AJAX_PREFIX, _AJAX_PARTS, include_in_schema=False))
router.include_router(_prefixed(API_V3_PREFIX, (), include_in_schema=False))
router.include_router(_prefixed(AJAX_V3_PREFIX, (), include_in_schema=False))

# The small calls a training script makes once per step and key (issue 13).
HOT_ENDPOINTS = ("/runs/log-metric", "/runs/log-batch")
HOT_PATHS: tuple[tuple[str, str], ...] = tuple(
    ("POST", prefix + endpoint)
    for prefix in (API_PREFIX, AJAX_PREFIX)
    for endpoint in HOT_ENDPOINTS
)


def _hot_router() -> APIRouter:
    """The hot calls under both prefixes, with the full router's handlers, for the app to
    include before every other router: FastAPI tries routes in order (twice a request), and
    ~117 routes come before these otherwise. No route of another router takes these exact
    paths, so including them first changes no match. The full router keeps its own copies
    for the OpenAPI document, which these stay out of (it does not change)."""
    hot = APIRouter(route_class=MlflowRoute)
    routes = {r.path: r for r in metric_routes.router.routes if isinstance(r, APIRoute)}
    for method, path in HOT_PATHS:
        route = routes[path.removeprefix(API_PREFIX).removeprefix(AJAX_PREFIX)]
        hot.add_api_route(
            path, route.endpoint, methods=[method], name=route.name, include_in_schema=False
        )
    return hot


hot_router = _hot_router()
