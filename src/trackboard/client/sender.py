"""The background sender of one run: a batcher thread turns what `log()` appended into
records, an uploader thread sends them in order, and whatever cannot be sent or held in
memory goes to the run's spool (and is sent from there, still in order, once possible).

The training thread never waits for any of this: `log()` only appends to a deque. `flush`
and `close` wait, for the sending and then for the commit of the batches the server queued
(`batch_status`), so that what they cover is readable when they return."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Literal

from trackboard.client.backoff import Backoff
from trackboard.client.batch_status import UnconfirmedBatches
from trackboard.client.delivery import RunDelivery
from trackboard.client.records import (
    Entry,
    MetricBatcher,
    Record,
    estimate_bytes,
    record_points,
    run_header_record,
)
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import SpoolReader, SpoolWriter
from trackboard.client.transport import RequestRejectedError, TrackboardError, TransientError

logger = logging.getLogger("trackboard")

# How often the batcher looks at the buffer, and how many waiting log calls make it drain
# before the flush interval is up (keeps memory low when training logs very fast).
POLL_SECONDS = 0.05
DRAIN_AT_ENTRIES = 2_000
# Memory of one buffered log call (tuple, time, dict copy), measured with tracemalloc.
ENTRY_BASE_BYTES = 120
ENTRY_KEY_BYTES = 60
MIN_ENTRIES = 1_000
# Ids of records acknowledged from memory whose copy may also sit in the spool.
REMEMBERED_ACKS = 64

Source = Literal["memory", "spool"]


class Sender:
    def __init__(
        self,
        settings: ClientSettings,
        buffer: deque[Entry | Record],
        delivery: RunDelivery,
        spool_file: Path,
        first_record: Record | None,
        network: bool,
    ) -> None:
        """`first_record` is the run's creation when the server could not be reached at
        start: it opens the spool and everything after it queues behind it."""
        self._settings = settings
        self._buffer = buffer
        self._delivery = delivery
        self._spool_file = spool_file
        self._network = network
        self._batcher = MetricBatcher(settings.max_batch_points, self._report_invalid)

        self._lock = threading.Lock()
        # Records waiting to be sent, with the time each was queued.
        self._memory: deque[tuple[float, Record]] = deque()
        self._memory_bytes = 0
        self._inflight: Record | None = None
        self._inflight_since: float | None = None
        self._inflight_spooled = False
        self._acked_from_memory: deque[str] = deque(maxlen=REMEMBERED_ACKS)
        self._spilling = False
        self._writer: SpoolWriter | None = None
        self._reader: SpoolReader | None = None
        self._batching = False
        self._drain_lock = threading.Lock()
        # Half the memory bound for log calls not yet batched, half for batched records.
        self._buffer_share = settings.max_buffer_bytes // 2
        self.max_entries = max(
            MIN_ENTRIES, int(self._buffer_share / (ENTRY_BASE_BYTES + 5 * ENTRY_KEY_BYTES))
        )

        self._flush_requested = threading.Event()
        self._closing = threading.Event()
        self._batcher_done = threading.Event()
        self._wake_uploader = threading.Event()
        self._interrupt = threading.Event()
        self._deadline: float | None = None

        self._reported: set[tuple[Any, ...]] = set()
        self._outage = False
        self.delivered_points = 0
        # Batches the server queued (202) that are not yet known to be written.
        self.unconfirmed = UnconfirmedBatches()

        if first_record is not None:
            with self._lock:
                self._open_spool_locked(first_record)
                self._spilling = True

        self._batch_thread = threading.Thread(
            target=self._batch_loop, name="trackboard-batcher", daemon=True
        )
        self._upload_thread: threading.Thread | None = None
        self._batch_thread.start()
        if network:
            self._upload_thread = threading.Thread(
                target=self._upload_loop, name="trackboard-uploader", daemon=True
            )
            self._upload_thread.start()

    # -- reports: each kind of trouble is told once, not per batch or per retry --------

    def _report_once(self, key: tuple[Any, ...], message: str, *args: Any) -> None:
        if key not in self._reported:
            self._reported.add(key)
            logger.warning(message, *args)

    def _report_invalid(self, key: str, reason: str) -> None:
        self._report_once(
            ("invalid", key), "trackboard: dropped a value of metric %r: %s", key, reason
        )

    # -- batcher ------------------------------------------------------------------------

    def _batch_loop(self) -> None:
        last = time.monotonic()
        while True:
            closing = self._closing.is_set()
            if not closing:
                self._flush_requested.wait(POLL_SECONDS)
            now = time.monotonic()
            due = now - last >= self._settings.flush_interval
            if (
                closing
                or due
                or self._flush_requested.is_set()
                or len(self._buffer) >= DRAIN_AT_ENTRIES
            ):
                self._flush_requested.clear()
                try:
                    self._drain_buffer()
                except Exception:  # a bug here must not silently stop all sending
                    logger.exception("trackboard: the batcher failed")
                last = now
            elif self._inflight_since is not None or self._memory:
                self._spill_if_stalled()
            if closing:
                self._batcher_done.set()
                self._wake_uploader.set()
                return

    def _drain_buffer(self) -> None:
        with self._drain_lock:
            self._batching = True
            try:
                self._drain_locked()
            finally:
                self._batching = False

    def _drain_locked(self) -> None:
        buffer, batcher = self._buffer, self._batcher
        records: list[Record] = []
        entries: list[Entry] = []
        for _ in range(len(buffer)):
            item = buffer.popleft()
            if type(item) is tuple:
                entries.append(item)
            else:
                # A control record (params, tags, status) keeps its place between points.
                batcher.add(entries)
                entries = []
                records.extend(batcher.take())
                records.append(item)  # type: ignore[arg-type]
        batcher.add(entries)
        records.extend(batcher.take())
        if not records:
            self._enqueue(records)  # still checks for records waiting too long
            return
        points = sum(record_points(record) for record in records)
        if entries and points:
            # Sizes the buffer's share of the memory bound by what is actually logged.
            entry_bytes = ENTRY_BASE_BYTES + ENTRY_KEY_BYTES * points / len(entries)
            self.max_entries = max(MIN_ENTRIES, int(self._buffer_share / entry_bytes))
        self._enqueue(records)

    def relieve(self) -> None:
        """Called by `log()` when the buffer holds more than its share of the memory bound:
        the training thread batches (and spills, if need be) what waits, pacing itself to what
        the client can take, rather than letting memory grow without end."""
        self._drain_buffer()

    def _enqueue(self, records: list[Record]) -> None:
        now = time.monotonic()
        to_spool: list[Record] = []
        with self._lock:
            stalled = self._spill_if_stalled_locked(now)
            for record in records:
                size = estimate_bytes(record)
                if (
                    not self._spilling
                    and self._network
                    and not stalled
                    and self._memory_bytes + size <= self._buffer_share
                ):
                    self._memory.append((now, record))
                    self._memory_bytes += size
                else:
                    if not self._spilling:
                        self._start_spilling_locked()
                    to_spool.append(record)
            if to_spool:
                assert self._writer is not None
                self._writer.append(to_spool)
        self._wake_uploader.set()

    def _spill_if_stalled_locked(self, now: float) -> bool:
        """A request hanging, or records waiting, longer than a flush interval count as an
        outage: what waits goes to disk, so a crash cannot lose much more than that."""
        limit = now - self._settings.flush_interval
        stalled = (self._inflight_since is not None and self._inflight_since < limit) or (
            bool(self._memory) and self._memory[0][0] < limit
        )
        if stalled and not self._spilling:
            self._start_spilling_locked()
        return stalled

    def _spill_if_stalled(self) -> None:
        with self._lock:
            if self._network:
                self._spill_if_stalled_locked(time.monotonic())

    # -- spool --------------------------------------------------------------------------

    def _open_spool_locked(self, first_record: Record | None = None) -> None:
        if self._writer is None:
            header = first_record or run_header_record(str(self._delivery.run_id), None)
            self._writer = SpoolWriter(self._spool_file, header)
        if self._reader is None:
            self._reader = SpoolReader(self._spool_file)

    def _start_spilling_locked(self) -> None:
        """From now on records go to the spool; what waits in memory goes there first."""
        self._open_spool_locked()
        assert self._writer is not None
        pending: list[Record] = []
        if self._inflight is not None and not self._inflight_spooled:
            # If its send succeeds after all, the copy is skipped (or deduped by the server).
            pending.append(self._inflight)
            self._inflight_spooled = True
        pending.extend(record for _, record in self._memory)
        self._memory.clear()
        self._memory_bytes = 0
        self._writer.append(pending)
        self._spilling = True

    def _next_locked(self) -> tuple[Source, Record, int] | None:
        if self._memory:
            _, record = self._memory.popleft()
            self._memory_bytes -= estimate_bytes(record)
            self._inflight = record
            self._inflight_since = time.monotonic()
            self._inflight_spooled = False
            return "memory", record, 0
        if not self._spilling or self._reader is None:
            return None
        while True:
            following = self._reader.peek()
            if following is None:
                break
            record, end = following
            if record.get("id") in self._acked_from_memory:
                self._reader.ack(end)
                continue
            return "spool", record, end
        # Fully drained: the spool is no longer needed and sending goes straight again.
        self._reader.remove()
        self._reader = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._spilling = False
        return None

    # -- uploader -----------------------------------------------------------------------

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _upload_loop(self) -> None:
        while True:
            try:
                self._upload()
                return
            except Exception:  # a bug (or a full disk) must not silently stop all sending
                logger.exception("trackboard: the uploader failed; retrying")
                if self._interrupt.wait(1.0):
                    self._interrupt.clear()

    def _upload(self) -> None:
        backoff = Backoff(self._settings.retry_base, self._settings.retry_cap)
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return
            with self._lock:
                following = self._next_locked()
                idle = following is None and not self._memory and not self._spilling
            if following is None:
                if self._batcher_done.is_set() and idle:
                    return
                self._wake_uploader.wait(0.5)
                self._wake_uploader.clear()
                continue
            source, record, end = following
            queued: str | None = None
            timeout = self._settings.request_timeout
            if remaining is not None:
                timeout = max(0.1, min(timeout, remaining))
            try:
                queued = self._delivery.send(record, timeout=timeout)
            except TransientError as exc:
                self._on_transient(source, exc)
                delay = backoff.next_delay(exc.retry_after)
                remaining = self._remaining()
                if remaining is not None:
                    delay = max(0.0, min(delay, remaining))
                if self._interrupt.wait(delay):
                    # `close` cut the wait short once to set a deadline; later waits are whole.
                    self._interrupt.clear()
                continue
            except RequestRejectedError as exc:
                if exc.is_auth_failure:
                    self._go_offline(source, exc)
                    return
                self._report_once(
                    ("rejected", record.get("kind"), exc.status, exc.code),
                    "trackboard: the server refused %s of run %s (%s %s): %s",
                    record.get("kind"),
                    self._delivery.run_id,
                    exc.status,
                    exc.code,
                    exc.message,
                )
            except (ValueError, KeyError, TypeError) as exc:
                self._report_once(
                    ("broken", str(exc)), "trackboard: skipped a broken record: %s", exc
                )
            else:
                backoff.reset()
                self.delivered_points += int(record.get("points", 0))
                if self._outage and record.get("kind") != "run":  # "run" sends nothing
                    self._outage = False
                    logger.warning("trackboard: server reachable again; sending what was spooled")
                if queued is not None:
                    self.unconfirmed.add(queued)
            self._acknowledge(source, record, end)
            if queued is not None:
                self._prune_unconfirmed()

    def _prune_unconfirmed(self) -> None:
        run_id = self._delivery.run_id
        if run_id is not None:
            self.unconfirmed.prune_due(
                self._delivery.transport, run_id, self._settings.request_timeout
            )

    def _acknowledge(self, source: Source, record: Record, end: int) -> None:
        with self._lock:
            if source == "memory":
                if self._inflight_spooled:
                    self._acked_from_memory.append(str(record.get("id")))
                self._inflight = None
                self._inflight_since = None
            elif self._reader is not None:
                self._reader.ack(end, self._delivery.run_id)

    def _on_transient(self, source: Source, exc: TransientError) -> None:
        with self._lock:
            if source == "memory":
                # Not acknowledged: keep it (and everything after it) on disk, in order.
                self._start_spilling_locked()
                self._inflight = None
                self._inflight_since = None
        if not self._outage:
            self._outage = True
            logger.warning(
                "trackboard: cannot reach %s (%s); keeping points in %s and retrying",
                self._settings.url,
                exc.reason,
                self._spool_file,
            )

    def _go_offline(self, source: Source, exc: RequestRejectedError) -> None:
        with self._lock:
            self._network = False
            self._start_spilling_locked()
            self._inflight = None
            self._inflight_since = None
        logger.warning(
            "trackboard: the server refused the credentials (%s %s: %s); this run is kept in %s,"
            " upload it with `trackboard sync` once TRACKBOARD_API_KEY is right",
            exc.status,
            exc.code,
            exc.message,
            self._spool_file,
        )

    # -- control from the run -----------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Waits until everything logged so far is readable on the server: sent, and every
        batch the server queued committed. False, with a warning, if `timeout` ran out first
        (the sending goes on). Without a network (offline, or credentials refused) the buffer
        goes to the spool and the answer is False at once."""
        deadline = time.monotonic() + timeout
        if not self._network:
            self._drain_buffer()
            return False
        if not self._wait_sent(deadline):
            logger.warning(
                "trackboard: flush of run %s timed out after %g s with points not yet sent;"
                " they are kept and sent in the background",
                self._delivery.run_id,
                timeout,
            )
            return False
        return self._wait_committed(deadline, "flush")

    def _wait_committed(self, deadline: float, what: str) -> bool:
        """Waits until the batches the server queued are committed; False, with a warning,
        when `deadline` passes or the server cannot tell."""
        run_id = self._delivery.run_id
        if run_id is None or not len(self.unconfirmed):
            return True
        try:
            if self.unconfirmed.wait(
                self._delivery.transport, run_id, deadline, self._settings.request_timeout
            ):
                return True
            reason = "timed out"
        except TrackboardError as exc:
            reason = f"could not ask the server ({exc})"
        logger.warning(
            "trackboard: %s of run %s %s waiting for %d queued batches to be written; they are"
            " stored on the server's queue and readable once a worker has written them",
            what,
            run_id,
            reason,
            len(self.unconfirmed),
        )
        return False

    def _wait_sent(self, deadline: float) -> bool:
        self._flush_requested.set()
        while time.monotonic() < deadline:
            with self._lock:
                done = (
                    not self._buffer
                    and not self._batching
                    and not self._memory
                    and self._inflight is None
                    and not self._spilling
                )
            if done:
                return True
            self._wake_uploader.set()
            time.sleep(0.01)
        return False

    def close(self, timeout: float, wait_readable: bool = True) -> Path | None:
        """Sends what is left within `timeout` seconds; what is not sent by then stays in the
        spool. With `wait_readable`, then waits (within the same `timeout`) until the batches
        the server queued are committed. Returns the spool file if anything is left in it."""
        self._closing.set()
        self._flush_requested.set()
        self._batch_thread.join()
        self._deadline = time.monotonic() + timeout
        self._interrupt.set()
        self._wake_uploader.set()
        if self._upload_thread is not None:
            self._upload_thread.join(timeout + self._settings.request_timeout + 1.0)
        with self._lock:
            if self._memory or (self._inflight is not None and not self._inflight_spooled):
                self._start_spilling_locked()
            left = self._spilling and self._reader is not None and not self._reader.at_end()
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        if wait_readable and not left and self._network:
            self._wait_committed(self._deadline, "finish")
        self._delivery.transport.close()
        return self._spool_file if left else None
