"""Sends one record to the server: the request each record kind maps to. Shared by the
background sender and by `trackboard sync`, so a spool replays exactly as it would live."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from trackboard.client.artifact_staging import upload_staged_file
from trackboard.client.records import Record
from trackboard.client.transport import RequestRejectedError, TransientError, Transport

# How long after a creation answered 202 the run's writes that find no run are retried.
QUEUED_CREATION_WAIT_S = 300.0


def ensure_experiment(transport: Transport, name: str, timeout: float | None = None) -> int:
    """The id of the active experiment `name`, created if needed."""
    try:
        created = transport.request("POST", "/experiments", {"name": name}, timeout=timeout)
    except RequestRejectedError as exc:
        if exc.status != 409:
            raise
        existing = transport.request(
            "GET", f"/experiments/by-name/{quote(name, safe='')}", timeout=timeout
        )
        return int(existing["id"])
    return int(created["id"])


def create_run(
    transport: Transport, experiment_id: int, body: dict[str, Any], timeout: float | None = None
) -> dict[str, Any]:
    """The run as created; while the server's database is unreachable the creation may be
    queued for replay instead (a 202 naming the run's id only), which counts as done: then
    the body asked for, with the id and `queued`."""
    # The body carries a client-chosen id, so creating again after a lost answer is harmless.
    run: dict[str, Any] = transport.request(
        "POST", f"/experiments/{experiment_id}/runs", body, timeout=timeout
    )
    if "run_id" in run and "id" not in run:  # queued: the run is the one asked for
        return {**body, "id": run["run_id"], "queued": True}
    return run


class RunDelivery:
    """Sends one run's records, remembering the run's id (and experiments' ids) on the way."""

    def __init__(
        self, transport: Transport, run_id: str | None = None, creation_queued: bool = False
    ) -> None:
        """`creation_queued`: the run's creation was answered 202 (see `create_run`)."""
        self.transport = transport
        self.run_id = run_id
        self._experiment_ids: dict[str, int] = {}
        # Until when a 404 for the run means its creation still waits in the server's
        # replay queue (answered 202), to be retried rather than refused.
        self._queued_creation_until = 0.0
        if creation_queued:
            self._note_queued_creation()

    def _note_queued_creation(self) -> None:
        self._queued_creation_until = time.monotonic() + QUEUED_CREATION_WAIT_S

    def _experiment_id(self, name: str, timeout: float | None) -> int:
        if name not in self._experiment_ids:
            self._experiment_ids[name] = ensure_experiment(self.transport, name, timeout)
        return self._experiment_ids[name]

    def send(self, record: Record, timeout: float | None = None) -> str | None:
        """Sends `record`; for a metric batch the server queued rather than committed (a
        202), returns its batch id: its points are readable once that batch is committed."""
        kind = record.get("kind")
        if kind == "run":
            self.run_id = str(record["run_id"])
            return None
        if kind == "create_run":
            experiment_id = self._experiment_id(str(record["experiment"]), timeout)
            created = create_run(self.transport, experiment_id, dict(record["run"]), timeout)
            self.run_id = str(created["id"])
            if created.get("queued"):
                self._note_queued_creation()
            return None
        if self.run_id is None:
            raise ValueError(f"a {kind!r} record came before the run was known")
        try:
            return self._send_to_run(kind, record, timeout)
        except RequestRejectedError as exc:
            # The database came back and took this write before the worker replayed the
            # run's queued creation: the same write is retried once the run is there.
            if exc.status == 404 and time.monotonic() < self._queued_creation_until:
                raise TransientError(
                    "the run's creation waits in the server's replay queue"
                ) from exc
            raise

    def _send_to_run(self, kind: object, record: Record, timeout: float | None) -> str | None:
        assert self.run_id is not None
        path = f"/runs/{self.run_id}"
        if kind == "metrics":
            body = {"batch_id": record["id"], "columns": record["columns"]}
            answer = self.transport.request("POST", f"{path}/metrics", body, timeout=timeout)
            # Servers before the batch status route say nothing: nothing can be waited for.
            if isinstance(answer, dict) and answer.get("committed") is False:
                return str(answer.get("batch_id") or record["id"])
        # A 202 for these (the server's database is away, the write waits in its replay
        # queue) is accepted like a 200; the record's id as `request_id` makes a resend
        # after a lost answer change the run once.
        elif kind == "params":
            body = {"params": record["params"], "request_id": record["id"]}
            self.transport.request("POST", f"{path}/params", body, timeout=timeout)
        elif kind == "tags":
            body = {"tags": record["tags"], "request_id": record["id"]}
            self.transport.request("POST", f"{path}/tags", body, timeout=timeout)
        elif kind == "status":
            body = {
                "status": record["status"],
                "end_time": record["end_time"],
                "request_id": record["id"],
            }
            self.transport.request("PATCH", path, body, timeout=timeout)
        elif kind == "artifact":
            upload_staged_file(self.transport, path, record, timeout)
        elif kind == "alert":
            body = {
                "title": record["title"],
                "text": record["text"],
                "level": record["level"],
                "alert_id": record["id"],
            }
            self.transport.request("POST", f"{path}/alerts", body, timeout=timeout)
        else:
            raise ValueError(f"unknown record kind {kind!r}")
        return None
