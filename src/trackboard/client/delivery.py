"""Sends one record to the server: the request each record kind maps to. Shared by the
background sender and by `trackboard sync`, so a spool replays exactly as it would live."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from trackboard.client.artifact_staging import upload_staged_file
from trackboard.client.records import Record
from trackboard.client.transport import RequestRejectedError, Transport


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
    # The body carries a client-chosen id, so creating again after a lost answer is harmless.
    run: dict[str, Any] = transport.request(
        "POST", f"/experiments/{experiment_id}/runs", body, timeout=timeout
    )
    return run


class RunDelivery:
    """Sends one run's records, remembering the run's id (and experiments' ids) on the way."""

    def __init__(self, transport: Transport, run_id: str | None = None) -> None:
        self.transport = transport
        self.run_id = run_id
        self._experiment_ids: dict[str, int] = {}

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
            return None
        if self.run_id is None:
            raise ValueError(f"a {kind!r} record came before the run was known")
        path = f"/runs/{self.run_id}"
        if kind == "metrics":
            body = {"batch_id": record["id"], "columns": record["columns"]}
            answer = self.transport.request("POST", f"{path}/metrics", body, timeout=timeout)
            # Servers before the batch status route say nothing: nothing can be waited for.
            if isinstance(answer, dict) and answer.get("committed") is False:
                return str(answer.get("batch_id") or record["id"])
        elif kind == "params":
            self.transport.request(
                "POST", f"{path}/params", {"params": record["params"]}, timeout=timeout
            )
        elif kind == "tags":
            self.transport.request(
                "POST", f"{path}/tags", {"tags": record["tags"]}, timeout=timeout
            )
        elif kind == "status":
            body = {"status": record["status"], "end_time": record["end_time"]}
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
