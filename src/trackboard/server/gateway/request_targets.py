"""Which experiments, runs and projects a request names: path, query and JSON body.

Path parameters are the v1 API's way; the MLflow API names its targets in the query
(GET) or the JSON body (POST), with the field names MLflow uses.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request

from trackboard.server.errors import InvalidParameter
from trackboard.server.gateway.access_policy import is_mlflow_path
from trackboard.server.identifiers import parse_id, parse_model_id, parse_run_id

EXPERIMENT_FIELDS = ("experiment_id",)
EXPERIMENT_LIST_FIELDS = ("experiment_ids",)
RUN_FIELDS = ("run_id", "run_uuid", "run_ids")
# v1 routes whose targets are in the JSON body.
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/"
V1_BODY_ROUTES = frozenset(
    {
        "/api/v1/runs/search",
        "/api/v1/runs/export",
        "/api/v1/runs/compare",
        "/api/v1/experiments",
        "/api/v1/notification-rules",
        "/api/v1/notification-rules/{rule_id}",
    }
)
# Creations whose body may say which project they go to (`project_id`).
V1_CREATIONS = frozenset({"/api/v1/experiments", "/api/v1/notification-rules"})


@dataclass
class Targets:
    """What a request names, parsed by `identifiers` exactly as the routes will parse it."""

    experiment_ids: set[int] = field(default_factory=set)
    run_ids: set[str] = field(default_factory=set)
    project_ids: set[int] = field(default_factory=set)
    experiment_names: set[str] = field(default_factory=set)
    notification_rule_ids: set[int] = field(default_factory=set)
    # MLflow 3's logged models (`/logged-models/{model_id}`), checked by their experiment.
    model_ids: set[str] = field(default_factory=set)
    # Where a create should go (the v1 `project_id` body field).
    project_hint: int | None = None
    # An artifact request that names no experiment and run (e.g. a listing of the root).
    unscoped: bool = False

    @property
    def empty(self) -> bool:
        named = (
            self.experiment_ids
            or self.run_ids
            or self.project_ids
            or self.experiment_names
            or self.notification_rule_ids
            or self.model_ids
        )
        return not (named or self.unscoped)


def is_given(value: Any) -> bool:
    """MLflow's clients send absent fields as null or ""; the routes treat them as missing."""
    return value is not None and value != ""


def add_fields(targets: Targets, values: dict[str, list[Any]]) -> None:
    """Ids in MLflow query or body fields; one that does not parse refuses the request."""
    for name in EXPERIMENT_FIELDS + EXPERIMENT_LIST_FIELDS:
        for value in values.get(name, []):
            if is_given(value):
                targets.experiment_ids.add(parse_id(value, "experiment ID"))
    for name in RUN_FIELDS:
        for value in values.get(name, []):
            if is_given(value):
                targets.run_ids.add(parse_run_id(value))
    for value in values.get("experiment_name", []):
        if isinstance(value, str) and value:
            targets.experiment_names.add(value)


def add_artifact_path(targets: Targets, path: str) -> None:
    """Artifact paths are `<experiment id>/<run id>/artifacts/...`, or a logged model's
    `<experiment id>/models/<model id>/artifacts/...`: the ids are checked."""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or any(p in ("", ".", "..") for p in parts[:2]):
        targets.unscoped = True
        return
    targets.experiment_ids.add(parse_id(parts[0], "experiment ID"))
    if parts[1] == "models" and len(parts) > 2 and parts[2] not in ("", ".", ".."):
        targets.model_ids.add(parse_model_id(parts[2]))
    elif parts[1] == "models":
        targets.unscoped = True
    else:
        targets.run_ids.add(parse_run_id(parts[1]))


async def json_fields(request: Request) -> dict[str, list[Any]]:
    """The body's top-level fields. A body the gateway cannot read is refused here, so no
    route ever acts on a body whose targets went unchecked."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"Malformed JSON request body: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter("The request body must be a JSON object")
    return {k: v if isinstance(v, list) else [v] for k, v in parsed.items()}


async def find_targets(connection: HTTPConnection, template: str) -> Targets:
    targets = Targets()
    params = connection.path_params
    if "experiment_id" in params:
        targets.experiment_ids.add(parse_id(params["experiment_id"], "experiment ID"))
    if "run_id" in params:
        targets.run_ids.add(parse_run_id(params["run_id"]))
    if "project_id" in params:
        targets.project_ids.add(parse_id(params["project_id"], "project ID"))
    if "rule_id" in params:
        targets.notification_rule_ids.add(parse_id(params["rule_id"], "rule ID"))
    if "model_id" in params:
        targets.model_ids.add(parse_model_id(params["model_id"]))
    if "key_id" in params:
        parse_id(params["key_id"], "key ID")  # checked against the project by the route
    if "view_id" in params:
        parse_id(params["view_id"], "view ID")  # looked up inside the path's experiment
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
        if template in V1_CREATIONS:
            # Creation: the project it goes to, and for a rule the experiments it watches.
            hint = fields.get("project_id", [None])[0]
            if hint is not None:
                targets.project_hint = parse_id(hint, "project ID")
        if template in V1_CREATIONS and template != "/api/v1/experiments":
            add_fields(targets, {"experiment_ids": fields.get("experiment_ids", [])})
        elif template not in V1_CREATIONS:
            add_fields(targets, fields)
    return targets
