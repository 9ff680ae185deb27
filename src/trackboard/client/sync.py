"""Uploads spooled runs (what `trackboard sync` runs): each spool from where the server last
acknowledged it, deleted once all of it is stored. Safe to repeat: every record is
idempotent on the server (batch ids, client-chosen run ids, same-value params)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from trackboard.client.backoff import Backoff
from trackboard.client.delivery import RunDelivery
from trackboard.client.spool import SpoolBusyError, SpoolReader
from trackboard.client.transport import RequestRejectedError, TransientError, Transport

Outcome = Literal["synced", "busy", "failed"]


@dataclass
class SyncResult:
    path: Path
    outcome: Outcome
    run_id: str | None = None
    records: int = 0
    message: str = ""
    skipped: int = 0


def pending_bytes(path: Path) -> int:
    """Bytes of `path` not yet acknowledged (for a progress bar's total)."""
    try:
        reader = SpoolReader(path)
    except FileNotFoundError:
        return 0
    try:
        return max(0, reader.total_bytes() - reader.state.offset)
    finally:
        reader.close()


def sync_spool(
    path: Path,
    transport: Transport,
    on_progress: Callable[[int], None] | None = None,
    retry_for: float = 30.0,
    on_skip: Callable[[str], None] | None = None,
) -> SyncResult:
    """Sends one spool; gives up (keeping its place) after `retry_for` seconds of failures."""
    try:
        reader = SpoolReader(path, lock=True)
    except SpoolBusyError:
        return SyncResult(path, "busy", message="in use by a running process")
    except FileNotFoundError:
        return SyncResult(path, "synced", message="already synced")
    delivery = RunDelivery(transport, reader.run_id)
    result = SyncResult(path, "failed", run_id=reader.run_id)
    backoff = Backoff(base=0.2, cap=5.0)
    failing_since: float | None = None
    try:
        while (following := reader.peek()) is not None:
            record, end = following
            try:
                delivery.send(record)
            except TransientError as exc:
                now = time.monotonic()
                failing_since = failing_since or now
                delay = backoff.next_delay(exc.retry_after)
                if now + delay - failing_since > retry_for:
                    result.message = f"server unreachable: {exc.reason}"
                    return result
                time.sleep(delay)
                continue
            except RequestRejectedError as exc:
                if exc.is_auth_failure or record.get("kind") == "create_run":
                    result.message = f"refused: {exc.status} {exc.code}: {exc.message}"
                    return result
                # One refused record (say, a param set to another value) is reported, not retried.
                result.skipped += 1
                if on_skip is not None:
                    on_skip(f"{record.get('kind')} refused: {exc.code}: {exc.message}")
            except (ValueError, KeyError, TypeError) as exc:
                result.message = f"broken spool record: {exc}"
                return result
            failing_since = None
            backoff.reset()
            if on_progress is not None:
                on_progress(end - reader.state.offset)
            reader.ack(end, delivery.run_id)
            result.records += 1
            result.run_id = delivery.run_id
        reader.remove()
        result.outcome = "synced"
        return result
    finally:
        reader.close()


def result_line(result: SyncResult) -> tuple[Outcome, str]:
    """How a sync's outcome reads in a terminal: the outcome and a line about the run."""
    run = result.run_id or result.path.stem
    if result.outcome == "synced":
        refused = f", {result.skipped} refused" if result.skipped else ""
        return result.outcome, f"{run}: {result.records} records{refused}"
    if result.outcome == "busy":
        return result.outcome, f"{run}: {result.message}"
    return result.outcome, f"{run}: {result.message} (run sync again to resume)"
