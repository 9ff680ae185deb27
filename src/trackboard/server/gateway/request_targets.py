"""Which experiments, runs and projects a request names: path, query and JSON body.

Path parameters are the v1 API's way; the MLflow API names its targets in the query
(GET) or the JSON body (POST), with the field names MLflow uses.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request

from trackboard.server.gateway.access_policy import is_mlflow_path

MAX_RUN_ID_LENGTH = 32
MAX_INSPECTED_BODY = 16 * 1024 * 1024
EXPERIMENT_FIELDS = ("experiment_id",)
EXPERIMENT_LIST_FIELDS = ("experiment_ids",)
RUN_FIELDS = ("run_id", "run_uuid", "run_ids")
# v1 routes whose targets are in the JSON body.
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/"
V1_BODY_ROUTES = frozenset({"/api/v1/runs/search", "/api/v1/experiments"})


@dataclass
class Targets:
    experiment_ids: set[int] = field(default_factory=set)
    run_ids: set[str] = field(default_factory=set)
    project_ids: set[int] = field(default_factory=set)
    experiment_names: set[str] = field(default_factory=set)
    # Where a create should go (the v1 `project_id` body field).
    project_hint: int | None = None
    # An artifact request that names no experiment and run (e.g. a listing of the root).
    unscoped: bool = False
    # An id that cannot exist (out of range, wrong type): nothing to look up.
    unresolvable: bool = False

    @property
    def empty(self) -> bool:
        named = self.experiment_ids or self.run_ids or self.project_ids or self.experiment_names
        return not (named or self.unresolvable or self.unscoped)


INT64_MAX = 2**63 - 1


def as_int(value: Any) -> int | None:
    """An id as stored (0 to 2**63 - 1), else None: the route rejects what is not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= INT64_MAX:
        return value
    return None


def add_run_id(targets: Targets, value: Any) -> None:
    # Run ids are at most 32 characters; a longer one names nothing (the route says so).
    if isinstance(value, str) and 0 < len(value) <= MAX_RUN_ID_LENGTH:
        targets.run_ids.add(value)
    elif value not in (None, ""):
        targets.unresolvable = True


def add_fields(targets: Targets, values: dict[str, list[Any]]) -> None:
    for name in EXPERIMENT_FIELDS + EXPERIMENT_LIST_FIELDS:
        for value in values.get(name, []):
            experiment_id = as_int(value)
            if experiment_id is not None:
                targets.experiment_ids.add(experiment_id)
            elif value not in (None, ""):
                targets.unresolvable = True
    for name in RUN_FIELDS:
        for value in values.get(name, []):
            add_run_id(targets, value)
    for value in values.get("experiment_name", []):
        if isinstance(value, str) and value:
            targets.experiment_names.add(value)


def add_artifact_path(targets: Targets, path: str) -> None:
    """Artifact paths are `<experiment id>/<run id>/artifacts/...`: both are checked."""
    parts = path.strip("/").split("/")
    experiment_id = as_int(parts[0]) if parts else None
    if len(parts) < 2 or experiment_id is None or any(p in ("", ".", "..") for p in parts[:2]):
        targets.unscoped = True
        return
    targets.experiment_ids.add(experiment_id)
    add_run_id(targets, parts[1])


async def json_fields(request: Request) -> dict[str, list[Any]]:
    body = await request.body()
    if not body.strip() or len(body) > MAX_INSPECTED_BODY:
        return {}
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}  # the route answers the malformed body with its own 400
    if not isinstance(parsed, dict):
        return {}
    return {k: v if isinstance(v, list) else [v] for k, v in parsed.items()}


async def find_targets(connection: HTTPConnection, template: str) -> Targets:
    targets = Targets()
    params = connection.path_params
    if "experiment_id" in params:
        experiment_id = as_int(params["experiment_id"])
        # A non-numeric id names nothing: the route will answer it with its own 400.
        if experiment_id is not None:
            targets.experiment_ids.add(experiment_id)
        else:
            targets.unresolvable = True
    if "run_id" in params:
        add_run_id(targets, params["run_id"])
    if "project_id" in params:
        project_id = as_int(params["project_id"])
        if project_id is not None:
            targets.project_ids.add(project_id)
        else:
            targets.unresolvable = True
    if "name" in params and template.startswith("/api/v1/experiments/by-name/"):
        targets.experiment_names.add(str(params["name"]))
    if template.startswith(ARTIFACTS_PREFIX):
        add_artifact_path(
            targets, str(params.get("artifact_path", connection.query_params.get("path", "")))
        )
        return targets
    mlflow = is_mlflow_path(template)
    if mlflow:
        query = connection.query_params
        add_fields(targets, {key: query.getlist(key) for key in query})
    has_body = isinstance(connection, Request) and connection.method not in ("GET", "HEAD")
    if has_body and (mlflow or template in V1_BODY_ROUTES):
        assert isinstance(connection, Request)
        fields = await json_fields(connection)
        if template == "/api/v1/experiments":
            # Creation: the only target is the project it goes to.
            if fields.get("project_id"):
                targets.project_hint = as_int(fields["project_id"][0])
        else:
            add_fields(targets, fields)
    return targets
