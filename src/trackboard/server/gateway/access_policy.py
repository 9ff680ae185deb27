"""The route table: which access each route needs, decided by path and method.

Every route of the app has exactly one decision, and a test fails when one does not:
- PUBLIC: anyone (health, docs, login, static assets);
- AUTHENTICATED: any caller who proved an identity; what they get is filtered to their
  projects (lists, "my projects", project creation);
- READ / WRITE / OWNER: the viewer / editor / owner role in the project of the resource
  the request names (by an experiment or run id in the path, query or JSON body).

The MLflow-compatible API is classified by prefix and method, so a new MLflow route gets
its decision without any work: GET and the read-only POSTs (searches, batch gets) are READ,
every other method WRITE. Ids in MLflow bodies and queries are resolved like path ids.
"""

import re
from dataclasses import dataclass
from enum import Enum


class Access(Enum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    READ = "read"
    WRITE = "write"
    OWNER = "owner"


@dataclass(frozen=True)
class Decision:
    access: Access
    # May name no experiment, run or project: a list filtered to the caller's projects, or
    # a creation in the caller's project. Any other READ/WRITE/OWNER request that names
    # nothing the gateway can check is refused, so a route whose targets the gateway does
    # not know how to find fails closed instead of running unchecked.
    unscoped: bool = False


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MLFLOW_PREFIXES = (
    "/api/2.0/mlflow/",
    "/ajax-api/2.0/mlflow/",
    "/api/2.0/mlflow-artifacts/",
    # MLflow 3's endpoints, all answered ENDPOINT_NOT_FOUND by the catch-all.
    "/api/3.0/mlflow/",
    "/ajax-api/3.0/mlflow/",
)
# POST endpoints of MLflow's API that only read.
MLFLOW_READ_POSTS = re.compile(r"/(search|get-history-bulk-interval|get-history-bulk|get)$")
# MLflow endpoints that may name nothing (lists filtered by project, creations), and the
# catch-all that answers unknown endpoints with ENDPOINT_NOT_FOUND.
MLFLOW_UNSCOPED = re.compile(
    r"/(experiments/create|experiments/search|experiments/list|logged-models/search|\{path\})$"
)

PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
    }
)

# (method, route path template) → decision, for the v1 API. Templates are the routes' own.
V1_ROUTES: dict[tuple[str, str], Decision] = {
    ("GET", "/api/v1/auth/me"): Decision(Access.AUTHENTICATED),
    # Live updates: subscriptions name their runs and experiments inside the socket; the
    # live service checks each one with `authorization.check_read_access`.
    ("WEBSOCKET", "/api/v1/ws"): Decision(Access.AUTHENTICATED),
    ("GET", "/api/v1/projects"): Decision(Access.AUTHENTICATED),
    ("POST", "/api/v1/projects"): Decision(Access.AUTHENTICATED),
    ("GET", "/api/v1/projects/{project_id}"): Decision(Access.READ),
    ("GET", "/api/v1/projects/{project_id}/members"): Decision(Access.OWNER),
    ("PUT", "/api/v1/projects/{project_id}/members/{username}"): Decision(Access.OWNER),
    ("DELETE", "/api/v1/projects/{project_id}/members/{username}"): Decision(Access.OWNER),
    ("GET", "/api/v1/projects/{project_id}/keys"): Decision(Access.OWNER),
    ("POST", "/api/v1/projects/{project_id}/keys"): Decision(Access.OWNER),
    ("DELETE", "/api/v1/projects/{project_id}/keys/{key_id}"): Decision(Access.OWNER),
    ("POST", "/api/v1/experiments"): Decision(Access.WRITE, unscoped=True),
    ("GET", "/api/v1/experiments"): Decision(Access.AUTHENTICATED),
    ("GET", "/api/v1/experiments/by-name/{name}"): Decision(Access.READ),
    ("GET", "/api/v1/experiments/{experiment_id}"): Decision(Access.READ),
    ("PATCH", "/api/v1/experiments/{experiment_id}"): Decision(Access.WRITE),
    ("DELETE", "/api/v1/experiments/{experiment_id}"): Decision(Access.WRITE),
    ("POST", "/api/v1/experiments/{experiment_id}/restore"): Decision(Access.WRITE),
    ("GET", "/api/v1/experiments/{experiment_id}/dashboard"): Decision(Access.READ),
    ("POST", "/api/v1/experiments/{experiment_id}/runs"): Decision(Access.WRITE),
    ("POST", "/api/v1/experiments/{experiment_id}/runs:batch"): Decision(Access.WRITE),
    ("GET", "/api/v1/experiments/{experiment_id}/runs/groups"): Decision(Access.READ),
    # Saved views of an experiment's runs page: viewers read, editors manage; a view id is
    # looked up inside the experiment of the path, which is what the gateway checks.
    ("GET", "/api/v1/experiments/{experiment_id}/views"): Decision(Access.READ),
    ("POST", "/api/v1/experiments/{experiment_id}/views"): Decision(Access.WRITE),
    ("GET", "/api/v1/experiments/{experiment_id}/views/{view_id}"): Decision(Access.READ),
    ("PATCH", "/api/v1/experiments/{experiment_id}/views/{view_id}"): Decision(Access.WRITE),
    ("DELETE", "/api/v1/experiments/{experiment_id}/views/{view_id}"): Decision(Access.WRITE),
    ("POST", "/api/v1/runs/search"): Decision(Access.READ),
    ("POST", "/api/v1/runs/export"): Decision(Access.READ),
    # A compare chart: every run of the body's `run_ids` is checked.
    ("POST", "/api/v1/runs/compare"): Decision(Access.READ),
    ("GET", "/api/v1/runs/{run_id}"): Decision(Access.READ),
    ("PATCH", "/api/v1/runs/{run_id}"): Decision(Access.WRITE),
    ("DELETE", "/api/v1/runs/{run_id}"): Decision(Access.WRITE),
    ("POST", "/api/v1/runs/{run_id}/restore"): Decision(Access.WRITE),
    ("POST", "/api/v1/runs/{run_id}/params"): Decision(Access.WRITE),
    ("POST", "/api/v1/runs/{run_id}/tags"): Decision(Access.WRITE),
    ("DELETE", "/api/v1/runs/{run_id}/tags/{key}"): Decision(Access.WRITE),
    ("POST", "/api/v1/runs/{run_id}/metrics"): Decision(Access.WRITE),
    ("GET", "/api/v1/runs/{run_id}/metrics/{key}"): Decision(Access.READ),
    ("GET", "/api/v1/runs/{run_id}/batches"): Decision(Access.READ),
    ("POST", "/api/v1/runs/{run_id}/alerts"): Decision(Access.WRITE),
    ("GET", "/api/v1/runs/{run_id}/artifacts"): Decision(Access.READ),
    ("GET", "/api/v1/runs/{run_id}/artifacts/{artifact_path}"): Decision(Access.READ),
    ("PUT", "/api/v1/runs/{run_id}/artifacts/{artifact_path}"): Decision(Access.WRITE),
    ("GET", "/api/v1/runs/{run_id}/media"): Decision(Access.READ),
    # Notification rules belong to a project: viewers read them, editors manage them. A
    # rule id is resolved to its project like an experiment id; a new rule goes to the
    # project of its experiments, or to the caller's project when it names none.
    ("GET", "/api/v1/notification-rules"): Decision(Access.AUTHENTICATED),
    ("POST", "/api/v1/notification-rules"): Decision(Access.WRITE, unscoped=True),
    ("GET", "/api/v1/notification-rules/{rule_id}"): Decision(Access.READ),
    ("PATCH", "/api/v1/notification-rules/{rule_id}"): Decision(Access.WRITE),
    ("DELETE", "/api/v1/notification-rules/{rule_id}"): Decision(Access.WRITE),
    ("POST", "/api/v1/notification-rules/{rule_id}/test"): Decision(Access.WRITE),
    ("GET", "/api/v1/notification-rules/{rule_id}/deliveries"): Decision(Access.READ),
}


def normalise_template(path: str) -> str:
    """`/x/{key:path}` → `/x/{key}`: converters do not change the decision."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def is_mlflow_path(path: str) -> bool:
    return path.startswith(MLFLOW_PREFIXES)


# POSTs that only read (a search's body; a compare chart's runs).
EXPORT_PATH = "/api/v1/runs/export"
COMPARE_PATH = "/api/v1/runs/compare"


def is_read_request(method: str, path: str) -> bool:
    """Which budget a request spends, known before routing: reads, or writes and ingest."""
    if method in READ_METHODS:
        return True
    return bool(
        path.endswith("/search")
        or path in (EXPORT_PATH, COMPARE_PATH)
        or MLFLOW_READ_POSTS.search(path)
    )


def decide(method: str, template: str) -> Decision | None:
    """The decision for a route (by its path template), or None if it has none."""
    template = normalise_template(template)
    if template in PUBLIC_PATHS or template.startswith("/assets/"):
        return Decision(Access.PUBLIC)
    if is_mlflow_path(template):
        unscoped = bool(MLFLOW_UNSCOPED.search(template))
        if method in READ_METHODS or MLFLOW_READ_POSTS.search(template):
            return Decision(Access.READ, unscoped=unscoped)
        return Decision(Access.WRITE, unscoped=unscoped)
    if method == "HEAD":
        method = "GET"
    return V1_ROUTES.get((method, template))
