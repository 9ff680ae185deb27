"""Write imported records to a Trackboard server through its REST API.

Going through the API (not the database) makes the importer work against any server,
embedded or distributed, with the same validation and the same ingestion path as clients.
Runs, params, tags and metrics go through v1; dataset inputs, logged models, metric points
linked to a model and artifact files through the MLflow door (`/api/2.0/mlflow`,
`/api/2.0/mlflow-artifacts`), the one way the server takes them.
"""

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from trackboard.importer.linked_points import LinkedPoint
from trackboard.importer.records import MetricSeries, SourceDatasetInput

MLFLOW_API = "/api/2.0/mlflow"
ARTIFACT_PROXY = "/api/2.0/mlflow-artifacts/artifacts"
PROXY_SCHEME = "mlflow-artifacts:"
# MLflow's entity status of a finished logged model, as its REST API spells it.
_MODEL_STATUS = {"READY": "READY", "FAILED": "UPLOAD_FAILED"}
# MLflow's limit of metrics in one log-batch request.
LOG_BATCH_METRICS = 1000
# A 503 (the server's queue is full, or its database away) is retried after its
# Retry-After: every write the importer makes is safe to repeat.
ATTEMPTS_ON_503 = 5
MAX_RETRY_WAIT_S = 30.0


class TargetError(Exception):
    """The Trackboard server refused or could not be reached."""


def _wire_value(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.1), MAX_RETRY_WAIT_S)
    except ValueError:
        return 1.0


def proxied_folder(artifact_uri: str) -> str:
    """The folder behind the artifact proxy of an `mlflow-artifacts:` URI."""
    if not artifact_uri.startswith(PROXY_SCHEME):
        raise TargetError(f"artifacts kept at {artifact_uri}, not behind Trackboard's proxy")
    return artifact_uri.removeprefix(PROXY_SCHEME).strip("/")


class TrackboardTarget:
    """The v1 API of the Trackboard server at `url`."""

    def __init__(
        self, url: str, api_key: str | None = None, *, timeout: float = 120.0, transport: Any = None
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + "/api/v1", headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "TrackboardTarget":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202), **kw: Any
    ) -> httpx.Response:
        for attempt in range(1, ATTEMPTS_ON_503 + 1):
            try:
                response = self._http.request(method, path, **kw)
            except httpx.HTTPError as exc:
                raise TargetError(f"cannot reach Trackboard at {self.url}: {exc}") from exc
            # A streamed upload (`content`) cannot be sent again: the next import sends it.
            if response.status_code != 503 or attempt == ATTEMPTS_ON_503 or "content" in kw:
                break
            time.sleep(_retry_after(response))
        if response.status_code not in ok:
            raise TargetError(
                f"Trackboard answered {method} {path} with {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response

    def _call(
        self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202), **kw: Any
    ) -> Any:
        response = self._request(method, path, ok, **kw)
        return response.json() if response.content and response.status_code != 404 else None

    def ensure_experiment(self, name: str, tags: dict[str, str]) -> int:
        """The id of the active experiment `name`, created (with `tags`) when missing."""
        found = self._call("GET", f"/experiments/by-name/{quote(name, safe='')}", ok=(200, 404))
        if found is None:
            found = self._call("POST", "/experiments", json={"name": name, "tags": tags})
        elif tags:
            self._call("PATCH", f"/experiments/{found['id']}", json={"tags": tags})
        return int(found["id"])

    def ensure_run(
        self,
        experiment_id: int,
        run_id: str,
        *,
        name: str,
        user: str,
        start_time: int,
        tags: dict[str, str],
        params: dict[str, str],
    ) -> tuple[dict[str, Any], bool]:
        """The run with this client-chosen id, created if missing; and whether it is new."""
        body = {
            "id": run_id,
            "name": name or None,
            "user": user,
            "start_time": start_time,
            "tags": tags,
            "params": params,
        }
        response = self._request("POST", f"/experiments/{experiment_id}/runs", json=body)
        run: dict[str, Any] = response.json()
        return run, response.status_code == 201

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        if params:
            self._call("POST", f"/runs/{run_id}/params", json={"params": params})

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        if tags:
            self._call("POST", f"/runs/{run_id}/tags", json={"tags": tags})

    def finish_run(self, run_id: str, status: str, end_time: int | None) -> None:
        body: dict[str, Any] = {"status": status}
        if end_time is not None:
            body["end_time"] = end_time
        self._call("PATCH", f"/runs/{run_id}", json=body)

    def log_points(self, run_id: str, series: MetricSeries, batch_id: str) -> None:
        """One batch of points of one key; a repeated `batch_id` is stored once."""
        column = {
            "key": series.key,
            "steps": series.steps,
            "values": [_wire_value(v) for v in series.values],
            "timestamps": series.timestamps,
        }
        self._call(
            "POST", f"/runs/{run_id}/metrics", json={"batch_id": batch_id, "columns": [column]}
        )

    def log_linked_points(self, run_id: str, points: Sequence[LinkedPoint]) -> None:
        """Points linked to a model, through MLflow's log-batch: the server stores each in
        the run's series and among the model's metrics, once (a repeated request too)."""
        for start in range(0, len(points), LOG_BATCH_METRICS):
            metrics = []
            for point in points[start : start + LOG_BATCH_METRICS]:
                m = point.metric
                body: dict[str, Any] = {
                    "key": m.key,
                    "value": _wire_value(m.value),
                    "timestamp": m.timestamp,
                    "step": m.step,
                    "model_id": point.model_id,
                }
                if m.dataset_name:
                    body["dataset_name"] = m.dataset_name
                if m.dataset_digest:
                    body["dataset_digest"] = m.dataset_digest
                metrics.append(body)
            self._mlflow("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": metrics})

    def _mlflow(self, method: str, path: str, **kw: Any) -> Any:
        # An absolute URL: httpx then leaves the client's /api/v1 base aside.
        return self._call(method, self.url + MLFLOW_API + path, **kw)

    def dataset_inputs(self, run_id: str) -> set[tuple[str, str]]:
        """(name, digest) of every dataset the run already has as an input."""
        run = self._mlflow("GET", "/runs/get", params={"run_id": run_id})["run"]
        inputs = run.get("inputs", {}).get("dataset_inputs", [])
        return {(i["dataset"]["name"], i["dataset"]["digest"]) for i in inputs}

    def log_inputs(self, run_id: str, inputs: list[SourceDatasetInput]) -> None:
        datasets = [
            {
                "dataset": {
                    "name": item.name,
                    "digest": item.digest,
                    "source_type": item.source_type,
                    "source": item.source,
                    "schema": item.schema,
                    "profile": item.profile,
                },
                "tags": [{"key": k, "value": v} for k, v in item.tags.items()],
            }
            for item in inputs
        ]
        if datasets:
            self._mlflow("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": datasets})

    def artifact_root(self, run_id: str) -> str:
        """The run's folder behind the artifact proxy (`<experiment>/<run>/artifacts`)."""
        run = self._mlflow("GET", "/runs/get", params={"run_id": run_id})["run"]
        return proxied_folder(str(run["info"]["artifact_uri"]))

    def artifact_sizes(self, root: str) -> dict[str, int]:
        """Size of every file under `root`, by path relative to it."""
        sizes: dict[str, int] = {}
        folders = [root]
        while folders:
            folder = folders.pop()
            listing = self._call("GET", self.url + ARTIFACT_PROXY, params={"path": folder})
            for entry in listing.get("files", []):
                path = f"{folder}/{entry['path']}"
                if entry.get("is_dir"):
                    folders.append(path)
                else:
                    sizes[path.removeprefix(root + "/")] = int(entry.get("file_size", 0))
        return sizes

    def upload_artifact(self, root: str, path: str, local: Path) -> None:
        url = f"{self.url}{ARTIFACT_PROXY}/{quote(root)}/{quote(path)}"
        with local.open("rb") as content:
            self._call("PUT", url, content=content)

    def logged_models(self, experiment_id: int) -> list[dict[str, Any]]:
        """Every logged model of the experiment, as MLflow's `LoggedModel` JSON."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body: dict[str, Any] = {"experiment_ids": [str(experiment_id)], "max_results": 1000}
            if token:
                body["page_token"] = token
            page = self._mlflow("POST", "/logged-models/search", json=body)
            found += page.get("models", [])
            token = page.get("next_page_token")
            if not token:
                return found

    def create_logged_model(
        self,
        experiment_id: int,
        *,
        name: str,
        model_type: str,
        source_run_id: str | None,
        params: dict[str, str],
        tags: dict[str, str],
        model_id: str | None = None,
        creation_time: int | None = None,
        last_update_time: int | None = None,
    ) -> dict[str, Any]:
        """A new PENDING model (or the one with `model_id` in this experiment, as it is).

        The id and times are the server's unless given: Trackboard's create request also
        takes them (MLflow's does not), for imports."""
        body: dict[str, Any] = {
            "experiment_id": str(experiment_id),
            "name": name,
            "model_type": model_type,
            "params": [{"key": k, "value": v} for k, v in params.items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        if source_run_id:
            body["source_run_id"] = source_run_id
        if model_id:
            body["model_id"] = model_id
        if creation_time:
            body["creation_timestamp_ms"] = creation_time
        if last_update_time:
            body["last_updated_timestamp_ms"] = last_update_time
        model: dict[str, Any] = self._mlflow("POST", "/logged-models", json=body)["model"]
        return model

    def finalize_logged_model(
        self, model_id: str, status: str, last_update_time: int | None = None
    ) -> None:
        """`status` as MLflow's entity names it: READY or FAILED; the model's last update
        time is `last_update_time` (ms) if given, else the server's clock."""
        body: dict[str, Any] = {
            "model_id": model_id,
            "status": f"LOGGED_MODEL_{_MODEL_STATUS[status]}",
        }
        if last_update_time:
            body["last_updated_timestamp_ms"] = last_update_time
        self._mlflow("PATCH", f"/logged-models/{quote(model_id)}", json=body)

    def link_models(self, run_id: str, inputs: list[str], outputs: list[tuple[str, int]]) -> None:
        """Record that the run used `inputs` and produced `outputs` (model id, step)."""
        if inputs:
            used = [{"model_id": model_id} for model_id in inputs]
            self._mlflow("POST", "/runs/log-inputs", json={"run_id": run_id, "models": used})
        if outputs:
            made = [{"model_id": model_id, "step": step} for model_id, step in outputs]
            self._mlflow("POST", "/runs/outputs", json={"run_id": run_id, "models": made})
