"""MLflow's artifact proxy endpoints (`/api/2.0/mlflow-artifacts/artifacts/...`).

`mlflow.log_artifact` PUTs raw file bytes here because our runs' artifact URIs are
`mlflow-artifacts:/<experiment>/<run>/artifacts`; listing and download follow MLflow's shapes.
"""

from fastapi import APIRouter, Request, Response

from trackboard.server.artifacts.dependencies import Store
from trackboard.server.artifacts.store import check_relative_path
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.translate import file_info_json, json_response

router = APIRouter(prefix="/api/2.0/mlflow-artifacts", route_class=MlflowRoute, tags=["mlflow"])


@router.put("/artifacts/{artifact_path:path}")
async def upload_artifact(artifact_path: str, request: Request, store: Store) -> Response:
    """Streamed to the store, never held whole; `TRACKBOARD_MAX_ARTIFACT_BYTES` bounds it
    (the body limit middleware)."""
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    await store.write(artifact_path, request.stream(), length)
    return json_response({})


@router.get("/artifacts/{artifact_path:path}")
async def download_artifact(artifact_path: str, store: Store) -> Response:
    return await store.download(artifact_path)


@router.get("/artifacts")
async def list_artifacts(store: Store, path: str = "") -> Response:
    relative = check_relative_path(path)
    files = [file_info_json(entry.path, entry) for entry in await store.list(relative)]
    return json_response({"files": files} if files else {})


@router.delete("/artifacts/{artifact_path:path}")
async def delete_artifact(artifact_path: str, store: Store) -> Response:
    await store.delete(artifact_path)
    return json_response({})
