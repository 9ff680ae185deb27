"""MLflow's `artifacts/list`: a run's artifacts, read from our artifact store."""

import posixpath

from fastapi import APIRouter, Request, Response

from trackboard.server.artifacts.dependencies import Store
from trackboard.server.artifacts.locations import run_artifact_folder, run_artifact_uri
from trackboard.server.artifacts.store import check_relative_path
from trackboard.server.experiments import service as experiments
from trackboard.server.mlflow_compat import schemas
from trackboard.server.mlflow_compat.errors import MlflowRoute
from trackboard.server.mlflow_compat.messages import read_message
from trackboard.server.mlflow_compat.translate import file_info_json, json_response
from trackboard.server.runs import service as runs
from trackboard.server.unit_of_work import ReadSession

router = APIRouter(route_class=MlflowRoute)


@router.get("/artifacts/list")
async def list_artifacts(request: Request, session: ReadSession, store: Store) -> Response:
    """The direct entries of `path` in the run's artifacts, with paths from the run's root.

    All of them on one page: MLflow's server ignores `page_token` here too.
    """
    message = await read_message(request, schemas.ListArtifacts)
    run_id = message.required_run_id()
    relative = check_relative_path(message.path or "")
    run = await runs.get_run(session, run_id)
    root_uri = run_artifact_uri(run, await experiments.get_experiment(session, run.experiment_id))
    folder = run_artifact_folder(root_uri, run.experiment_id, run.id)
    entries = await store.list(posixpath.join(folder, relative) if relative else folder)
    files = [
        file_info_json(posixpath.join(relative, entry.path) if relative else entry.path, entry)
        for entry in entries
    ]
    body = {"root_uri": root_uri, "files": files} if files else {"root_uri": root_uri}
    return json_response(body)
