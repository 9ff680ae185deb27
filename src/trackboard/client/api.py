"""`trackboard.Api`: reads experiments, runs and metric histories back, following pages."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from trackboard.client.backoff import Backoff
from trackboard.client.objects import (
    Experiment,
    ExperimentList,
    MetricHistory,
    RunInfo,
    RunList,
)
from trackboard.client.settings import ClientSettings
from trackboard.client.transport import TransientError, Transport
from trackboard.client.values import decode_float

PAGE_SIZE = 1000


class Api:
    """Read access to a Trackboard server (`url`/`api_key` default as for `trackboard.init`).

    Reads are retried for `retry_for` seconds while the server is unreachable or busy."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry_for: float = 10.0,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = ClientSettings.from_env(url=url, api_key=api_key, mode="online")
        self.url = settings.url
        self._retry_for = retry_for
        self._transport = Transport(settings.url, settings.api_key, timeout, http_transport)

    def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        # Reads are safe to repeat, so a server that is briefly away is waited for.
        deadline = time.monotonic() + self._retry_for
        backoff = Backoff(base=0.2, cap=5.0)
        while True:
            try:
                return self._transport.request(method, path, body, params)
            except TransientError as exc:
                delay = backoff.next_delay(exc.retry_after)
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)

    def experiments(
        self, name: str | None = None, lifecycle_stage: str = "active"
    ) -> ExperimentList:
        """All experiments (whose name contains `name`, case-insensitive)."""
        found = ExperimentList()
        params: dict[str, Any] = {"lifecycle_stage": lifecycle_stage, "limit": PAGE_SIZE}
        if name is not None:
            params["name"] = name
        while True:
            page = self._request("GET", "/experiments", params=params)
            found.extend(Experiment.from_json(e) for e in page["experiments"])
            if not page.get("next_page_token"):
                return found
            params["page_token"] = page["next_page_token"]

    def experiment(self, experiment: str | int) -> Experiment:
        """An experiment by id (int) or by exact name (str)."""
        if isinstance(experiment, int):
            return Experiment.from_json(self._request("GET", f"/experiments/{experiment}"))
        path = f"/experiments/by-name/{quote(experiment, safe='')}"
        return Experiment.from_json(self._request("GET", path))

    def _experiment_ids(self, experiment: str | int | Sequence[str | int] | None) -> list[int]:
        if experiment is None:
            return [e.id for e in self.experiments()]
        chosen = [experiment] if isinstance(experiment, (str, int)) else list(experiment)
        return [e if isinstance(e, int) else self.experiment(e).id for e in chosen]

    def runs(
        self,
        experiment: str | int | Sequence[str | int] | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        lifecycle_stage: str = "active",
        limit: int | None = None,
    ) -> RunList:
        """Runs of `experiment` (name, id, a list of them, or None for all) matching `filter`
        (e.g. `"metrics.acc > 0.9 and params.lr = '0.01'"`), sorted by `order_by`."""
        body: dict[str, Any] = {
            "experiment_ids": self._experiment_ids(experiment),
            "lifecycle_stage": lifecycle_stage,
            "limit": PAGE_SIZE if limit is None else min(limit, PAGE_SIZE),
        }
        if filter:
            body["filter"] = filter
        if order_by:
            body["order_by"] = [order_by] if isinstance(order_by, str) else list(order_by)
        found = RunList()
        while True:
            page = self._request("POST", "/runs/search", body)
            found.extend(RunInfo.from_json(r) for r in page["runs"])
            if limit is not None and len(found) >= limit:
                del found[limit:]
                return found
            if not page.get("next_page_token"):
                return found
            body["page_token"] = page["next_page_token"]

    def run(self, run_id: str) -> RunInfo:
        return RunInfo.from_json(self._request("GET", f"/runs/{run_id}"))

    def history(self, run_id: str, key: str, max_points: int | None = None) -> MetricHistory:
        """The series `key` of a run; with `max_points`, downsampled by the server keeping
        each bucket's first, last, min and max."""
        history = MetricHistory(run_id=run_id, key=key)
        params: dict[str, Any] = {"format": "columns"}
        if max_points is not None:
            params["max_points"] = max_points
        path = f"/runs/{run_id}/metrics/{quote(key, safe='/')}"
        while True:
            page = self._request("GET", path, params=params)
            history.steps.extend(int(s) for s in page["steps"])
            history.values.extend(decode_float(v) for v in page["values"])
            history.timestamps.extend(int(t) for t in page["timestamps"])
            if not page.get("next_page_token"):
                return history
            params["page_token"] = page["next_page_token"]

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
