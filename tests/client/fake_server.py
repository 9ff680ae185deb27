"""An in-memory stand-in for the API, served through httpx.MockTransport, with switches to
make it unreachable or answer 429/503, or queue metric batches the way the distributed mode
does (202, readable later) — for unit tests that need no real server."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx


def _decode(value: Any) -> float:
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return float(value)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message}}, headers=headers or {}
    )


def _is_run_write(method: str, path: str) -> bool:
    """The writes the server queues for replay while its database is unreachable."""
    parts = path.strip("/").split("/")
    if method == "POST" and len(parts) == 3 and parts[0] == "experiments" and parts[2] == "runs":
        return True
    if parts[0] != "runs" or len(parts) < 2 or parts[1] == "search":
        return False
    return (method == "PATCH" and len(parts) == 2) or (
        method == "POST" and len(parts) == 3 and parts[2] in ("params", "tags")
    )


@dataclass
class FakeRun:
    id: str
    experiment_id: int
    name: str
    status: str = "RUNNING"
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    points: dict[str, list[tuple[int, float, int]]] = field(default_factory=dict)
    batch_ids: set[str] = field(default_factory=set)
    # Batches answered 202 and not yet written: (when they get written, batch id, body).
    queued: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)  # path → content

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "start_time": 1,
            "end_time": self.end_time,
            "user": "",
            "lifecycle_stage": "active",
            "params": self.params,
            "tags": self.tags,
            "metrics": {},
        }


class FakeServer:
    """Thread-safe: the client's threads call it concurrently."""

    def __init__(self, page_size: int = 1000) -> None:
        self.page_size = page_size
        self.experiments: dict[int, str] = {}
        self.runs: dict[str, FakeRun] = {}
        self.requests: list[tuple[str, str]] = []
        self.search_bodies: list[dict[str, Any]] = []
        self.down = False
        # Each queued fault answers one request: (status, Retry-After or None).
        self.faults: deque[tuple[int, str | None]] = deque()
        # Store the batch, then answer 503 as if the answer got lost on the way.
        self.lose_answers = 0
        # Store the artifact, then answer 503 (its upload is retried).
        self.lose_artifact_answers = 0
        self.auth_key: str | None = None
        # None: batches are stored at once (200). A number: batches are queued (202) and
        # written that many seconds later, as by a worker; math.inf: never.
        self.commit_delay: float | None = None
        # Every GET /runs/{id}/batches, and the Trackboard-Read-After header of each
        # history read (status answers hand out a position, as a server with replicas does).
        self.status_requests: list[list[str]] = []
        self.read_after_seen: list[str | None] = []
        # True: the database is away and RabbitMQ there: run creations, params, tags and
        # PATCHes are answered 202 and wait in `replay_queue` until `replay()`.
        self.replay_writes = False
        self.replay_queue: list[tuple[str, str, dict[str, Any]]] = []
        self._applied_requests: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(self, status: int, times: int, retry_after: str | None = None) -> None:
        self.faults.extend([(status, retry_after)] * times)

    def series(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return [(step, value) for step, value, _ in self.runs[run_id].points.get(key, [])]

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            path = request.url.raw_path.decode().split("?")[0]
            assert path.startswith("/api/v1/"), path
            path = path[len("/api/v1") :]
            self.requests.append((request.method, path))
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            if self.faults:
                status, retry_after = self.faults.popleft()
                headers = {"Retry-After": retry_after} if retry_after else {}
                return _error(status, "TEMPORARILY_UNAVAILABLE", "injected", headers)
            if self.auth_key and request.headers.get("Authorization") != f"Bearer {self.auth_key}":
                return _error(401, "UNAUTHENTICATED", "bad API key")
            if request.method == "PUT" and "/artifacts/" in path:
                return self._store_artifact(path, request.read())
            body = json.loads(request.content) if request.content else None
            self._write_due()
            if request.method == "GET" and path.endswith("/batches"):
                return self._batch_status(path, request.url.params)
            if request.method == "GET" and "/metrics/" in path:
                self.read_after_seen.append(request.headers.get("Trackboard-Read-After"))
            if self.replay_writes and _is_run_write(request.method, path):
                return self._queue_for_replay(request.method, path, body)
            response = self._route(request.method, path, body, request.url.params)
            if self.lose_answers and request.method == "POST" and path.endswith("/metrics"):
                self.lose_answers -= 1
                return _error(503, "TEMPORARILY_UNAVAILABLE", "answer lost")
            return response

    def _queue_for_replay(self, method: str, path: str, body: Any) -> httpx.Response:
        parts = path.strip("/").split("/")
        run_id = body["id"] if parts[0] == "experiments" else unquote(parts[1])
        self.replay_queue.append((method, path, body))
        request_id = body.get("id") if parts[0] == "experiments" else body.get("request_id")
        return httpx.Response(202, json={"run_id": run_id, "request_id": request_id})

    def replay(self) -> None:
        """What the worker does once the database is back: the queued writes in order, a
        request id applied before changing nothing."""
        with self._lock:
            queued, self.replay_queue = self.replay_queue, []
            for method, path, body in queued:
                request_id = body.get("request_id")
                if request_id is not None:
                    key = (path.strip("/").split("/")[1], request_id)
                    if key in self._applied_requests:
                        continue
                    self._applied_requests.add(key)
                self._route(method, path, body, httpx.QueryParams())

    def _store_artifact(self, path: str, content: bytes) -> httpx.Response:
        """PUT /runs/{id}/artifacts/{path}: the file replaces any earlier one at that path."""
        _, run_id, _, name = path.strip("/").split("/", 3)
        if unquote(run_id) not in self.runs:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"no run {run_id}")
        self.runs[unquote(run_id)].artifacts[unquote(name)] = content
        if self.lose_artifact_answers:
            self.lose_artifact_answers -= 1
            return _error(503, "TEMPORARILY_UNAVAILABLE", "answer lost")
        return httpx.Response(200, json={"path": unquote(name)})

    def _experiment(self, experiment_id: int) -> dict[str, Any]:
        return {
            "id": experiment_id,
            "name": self.experiments[experiment_id],
            "lifecycle_stage": "active",
            "tags": {},
            "creation_time": 1,
            "last_update_time": 1,
        }

    def _route(self, method: str, path: str, body: Any, query: httpx.QueryParams) -> httpx.Response:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts == ["experiments"] and method == "POST":
            if body["name"] in self.experiments.values():
                return _error(409, "RESOURCE_ALREADY_EXISTS", "exists")
            experiment_id = len(self.experiments) + 1
            self.experiments[experiment_id] = body["name"]
            return httpx.Response(201, json=self._experiment(experiment_id))
        if parts == ["experiments"] and method == "GET":
            ids = sorted(self.experiments)
            start = int(query.get("page_token") or 0)
            page = ids[start : start + self.page_size]
            token = str(start + self.page_size) if start + self.page_size < len(ids) else None
            return httpx.Response(
                200,
                json={
                    "experiments": [self._experiment(i) for i in page],
                    "next_page_token": token,
                },
            )
        if parts[:2] == ["experiments", "by-name"]:
            for experiment_id, name in self.experiments.items():
                if name == "/".join(parts[2:]):
                    return httpx.Response(200, json=self._experiment(experiment_id))
            return _error(404, "RESOURCE_DOES_NOT_EXIST", "no such experiment")
        if len(parts) == 2 and parts[0] == "experiments" and method == "GET":
            if int(parts[1]) not in self.experiments:
                return _error(404, "RESOURCE_DOES_NOT_EXIST", "no such experiment")
            return httpx.Response(200, json=self._experiment(int(parts[1])))
        if len(parts) == 3 and parts[0] == "experiments" and parts[2] == "runs":
            run_id = body.get("id") or f"{len(self.runs):032x}"
            if run_id in self.runs:
                return httpx.Response(200, json=self.runs[run_id].to_json())
            run = FakeRun(run_id, int(parts[1]), body.get("name") or f"run-{len(self.runs)}")
            run.params.update(body.get("params", {}))
            run.tags.update(body.get("tags", {}))
            self.runs[run_id] = run
            return httpx.Response(201, json=run.to_json())
        if parts == ["runs", "search"]:
            self.search_bodies.append(body)
            runs = [r for r in self.runs.values() if r.experiment_id in body["experiment_ids"]]
            start = int(body.get("page_token") or 0)
            limit = min(body.get("limit", 100), self.page_size)
            token = str(start + limit) if start + limit < len(runs) else None
            return httpx.Response(
                200,
                json={
                    "runs": [r.to_json() for r in runs[start : start + limit]],
                    "next_page_token": token,
                },
            )
        if parts[0] != "runs" or parts[1] not in self.runs:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"no {path}")
        run = self.runs[parts[1]]
        if len(parts) == 2:
            if method == "PATCH":
                run.status = body.get("status", run.status)
                run.end_time = body.get("end_time", run.end_time)
            return httpx.Response(200, json=run.to_json())
        if parts[2] == "params":
            for key, value in body["params"].items():
                if run.params.get(key, value) != value:
                    return _error(400, "INVALID_PARAMETER_VALUE", f"param {key!r} already set")
            run.params.update(body["params"])
            return httpx.Response(200, json={"params": run.params})
        if parts[2] == "tags":
            run.tags.update(body["tags"])
            return httpx.Response(200, json={"tags": run.tags})
        if parts[2] == "metrics" and method == "POST":
            return self._store(run, body)
        if parts[2] == "metrics":
            return self._history(run, "/".join(parts[3:]), query)
        return _error(404, "RESOURCE_DOES_NOT_EXIST", f"no {path}")

    def _write_due(self) -> None:
        """What a worker would have written by now."""
        now = time.monotonic()
        for run in self.runs.values():
            due = [queued for queued in run.queued if queued[0] <= now]
            run.queued = [queued for queued in run.queued if queued[0] > now]
            for _, _, body in due:
                self._write(run, body)

    def _batch_status(self, path: str, query: httpx.QueryParams) -> httpx.Response:
        run_id = unquote(path.strip("/").split("/")[1])
        if run_id not in self.runs:
            return _error(404, "RESOURCE_DOES_NOT_EXIST", f"no run {run_id}")
        run = self.runs[run_id]
        ids = query.get_list("batch_id")
        self.status_requests.append(ids)
        deadline = time.monotonic() + float(query.get("wait_s") or 0)
        while True:
            pending = [b for b in ids if b not in run.batch_ids]
            if not pending or time.monotonic() >= deadline:
                break
            # The long-poll waits without the lock, so the client's other threads go on.
            self._lock.release()
            try:
                time.sleep(0.01)
            finally:
                self._lock.acquire()
            self._write_due()
        committed = [b for b in ids if b in run.batch_ids]
        position = time.time_ns() >> 8
        headers = {"Trackboard-Read-After": f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"}
        return httpx.Response(
            200, json={"committed": committed, "pending": pending}, headers=headers
        )

    def _store(self, run: FakeRun, body: dict[str, Any]) -> httpx.Response:
        count = sum(len(c["steps"]) for c in body.get("columns", []))
        if count > 10_000:
            return _error(400, "INVALID_PARAMETER_VALUE", "too many points")
        if self.commit_delay is not None:
            run.queued.append((time.monotonic() + self.commit_delay, body["batch_id"], body))
            answer = {"accepted": count, "duplicate": False, "batch_id": body["batch_id"]}
            return httpx.Response(202, json={**answer, "committed": False})
        return self._write(run, body)

    def _write(self, run: FakeRun, body: dict[str, Any]) -> httpx.Response:
        count = sum(len(c["steps"]) for c in body.get("columns", []))
        if body.get("batch_id") in run.batch_ids:
            return httpx.Response(200, json={"accepted": 0, "duplicate": True})
        run.batch_ids.add(body["batch_id"])
        for column in body.get("columns", []):
            series = run.points.setdefault(column["key"], [])
            for step, value, stamp in zip(
                column["steps"], column["values"], column["timestamps"], strict=True
            ):
                series.append((step, _decode(value), stamp))
        return httpx.Response(200, json={"accepted": count, "duplicate": False})

    def _history(self, run: FakeRun, key: str, query: httpx.QueryParams) -> httpx.Response:
        points = sorted(run.points.get(key, []))
        start = int(query.get("page_token") or 0)
        page = points[start : start + self.page_size]
        token = str(start + self.page_size) if start + self.page_size < len(points) else None
        values: list[Any] = []
        for _, value, _ in page:
            if math.isnan(value):
                values.append("NaN")
            elif math.isinf(value):
                values.append("Infinity" if value > 0 else "-Infinity")
            else:
                values.append(value)
        return httpx.Response(
            200,
            json={
                "key": key,
                "steps": [p[0] for p in page],
                "values": values,
                "timestamps": [p[2] for p in page],
                "next_page_token": token,
            },
        )
