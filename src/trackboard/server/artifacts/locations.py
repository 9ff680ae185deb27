"""Where a run's artifacts are in the store, read from the run's artifact URI.

Runs logged through MLflow's client have proxied URIs, `mlflow-artifacts:/<path>` or an
http(s) URL of the proxy's route, and `<path>` is the store path, by default
`<experiment>/<run>/artifacts` (as MLflow's `_get_proxied_run_artifact_destination_path`).
"""

from urllib.parse import urlsplit

from trackboard.server.artifacts.store import check_relative_path
from trackboard.server.errors import InvalidParameter
from trackboard.server.models import Experiment, RunFields

PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/"


def experiment_artifact_location(experiment: Experiment) -> str:
    """Where the experiment's artifacts go: through our mlflow-artifacts proxy by default."""
    return experiment.artifact_location or f"mlflow-artifacts:/{experiment.id}"


def run_artifact_uri(run: RunFields, experiment: Experiment) -> str:
    if run.artifact_uri:
        return run.artifact_uri
    return f"{experiment_artifact_location(experiment)}/{run.id}/artifacts"


def proxied_store_path(artifact_uri: str) -> str | None:
    """The store path of a proxied artifact URI; None for any other URI (s3://, file:…)."""
    parts = urlsplit(artifact_uri)
    if parts.scheme == "mlflow-artifacts":
        path = parts.path
    elif parts.scheme in ("http", "https") and PROXY_ROUTE in parts.path:
        path = parts.path.split(PROXY_ROUTE, 1)[1]
    else:
        return None
    return check_relative_path(path.lstrip("/"))


def run_artifact_folder(artifact_uri: str, experiment_id: int, run_id: str) -> str:
    """The store folder of a run's artifacts.

    Only the run's own folder, `<experiment>/<run>/...`, is listed: an experiment's
    artifact location is chosen by its creator, and may name another project's folder,
    while the proxy (and so the gateway's check of its paths) only reaches that one.
    """
    folder = proxied_store_path(artifact_uri)
    parts = folder.split("/") if folder else []
    if folder is None or parts[:2] != [str(experiment_id), run_id]:
        raise InvalidParameter(
            "Trackboard lists the artifacts it keeps through its artifact proxy, under "
            f"mlflow-artifacts:/{experiment_id}/{run_id}/; this run's artifacts are at "
            f"{artifact_uri}"
        )
    return folder
