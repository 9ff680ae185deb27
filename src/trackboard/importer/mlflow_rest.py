"""Read experiments, runs and metric histories from an MLflow server's REST API: the reader
when MLflow itself is not installed (it copies no dataset inputs, models or artifacts)."""

import base64
import os
from collections.abc import Iterator
from typing import Any

import httpx

from trackboard.importer.records import MetricSeries, SourceError, SourceExperiment, SourceRun

PAGE_SIZE = 1000
HISTORY_PAGE_SIZE = 25_000
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

__all__ = ["MlflowRestSource", "SourceError"]


def _auth_headers() -> dict[str, str]:
    """MLflow's own client settings: a bearer token, or a user name and password."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {}


def _float(value: Any) -> float:
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return float(value)


def _pairs(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or []}


class MlflowRestSource:
    """An MLflow server at `uri` (http or https), read page by page."""

    def __init__(self, uri: str, *, timeout: float = 60.0, transport: Any = None) -> None:
        self.description = uri
        self._http = httpx.Client(
            base_url=uri.rstrip("/") + "/api/2.0/mlflow",
            headers=_auth_headers(),
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "MlflowRestSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot reach MLflow at {self.description}: {exc}") from exc
        if response.status_code != 200:
            raise SourceError(
                f"MLflow answered {method} {path} with {response.status_code}: "
                f"{response.text[:300]}"
            )
        body: dict[str, Any] = response.json() if response.content else {}
        return body

    def experiments(self, name: str | None = None) -> list[SourceExperiment]:
        """Active experiments, or the one called `name`."""
        if name is not None:
            try:
                body = self._call(
                    "GET", "/experiments/get-by-name", params={"experiment_name": name}
                )
            except SourceError as exc:
                raise SourceError(f"no experiment {name!r} at {self.description}") from exc
            return [self._experiment(body["experiment"])]
        found: list[SourceExperiment] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"max_results": PAGE_SIZE, "view_type": "ACTIVE_ONLY"}
            if token:
                request["page_token"] = token
            body = self._call("POST", "/experiments/search", json=request)
            found += [self._experiment(e) for e in body.get("experiments", [])]
            token = body.get("next_page_token")
            if not token:
                return found

    @staticmethod
    def _experiment(body: dict[str, Any]) -> SourceExperiment:
        return SourceExperiment(body["experiment_id"], body["name"], _pairs(body.get("tags")))

    def runs(self, experiment: SourceExperiment) -> Iterator[SourceRun]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "experiment_ids": [experiment.id],
                "max_results": PAGE_SIZE,
                "run_view_type": "ACTIVE_ONLY",
            }
            if token:
                request["page_token"] = token
            body = self._call("POST", "/runs/search", json=request)
            for run in body.get("runs", []):
                yield self._run(run)
            token = body.get("next_page_token")
            if not token:
                return

    @staticmethod
    def _run(body: dict[str, Any]) -> SourceRun:
        info, data = body["info"], body.get("data", {})
        return SourceRun(
            id=info["run_id"],
            experiment_id=info["experiment_id"],
            name=info.get("run_name", ""),
            user=info.get("user_id", ""),
            status=info.get("status", "FINISHED"),
            start_time=int(info.get("start_time", 0)),
            end_time=int(info["end_time"]) if info.get("end_time") else None,
            params=_pairs(data.get("params")),
            tags=_pairs(data.get("tags")),
            metric_keys=tuple(sorted({m["key"] for m in data.get("metrics", [])})),
        )

    def history(self, run: SourceRun, key: str) -> MetricSeries:
        points: list[tuple[int, int, float]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "run_id": run.id,
                "metric_key": key,
                "max_results": HISTORY_PAGE_SIZE,
            }
            if token:
                params["page_token"] = token
            body = self._call("GET", "/metrics/get-history", params=params)
            points += [
                (int(m.get("timestamp", 0)), int(m.get("step", 0)), _float(m["value"]))
                for m in body.get("metrics", [])
            ]
            token = body.get("next_page_token")
            if not token:
                return MetricSeries.from_points(key, points)
