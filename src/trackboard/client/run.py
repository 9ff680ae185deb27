"""A live run: `init` creates it (on the server, or in the spool when offline), `log` hands
points to the background sender, `finish` (or the exit hook) closes it."""

from __future__ import annotations

import atexit
import getpass
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from trackboard.client.artifact_logging import ArtifactLogger
from trackboard.client.artifact_staging import staging_dir
from trackboard.client.delivery import RunDelivery, create_run, ensure_experiment
from trackboard.client.records import (
    Entry,
    Record,
    alert_record,
    create_run_record,
    new_id,
    params_record,
    status_record,
    tags_record,
)
from trackboard.client.sender import Sender
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import spool_path
from trackboard.client.system_metrics import SystemMonitor
from trackboard.client.transport import RequestRejectedError, TransientError, Transport
from trackboard.client.values import flatten_params, stringify_tags

logger = logging.getLogger("trackboard")

TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")

# Bound once: `log` is called in the training loop's hot path.
_now = time.time


ALERT_LEVELS = ("info", "warn", "error")


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class Run:
    """A run being logged. Made by `trackboard.init`; use it as a context manager or call
    `finish()`."""

    def __init__(
        self,
        *,
        run_id: str,
        experiment: str,
        experiment_id: int | None,
        name: str | None,
        settings: ClientSettings,
        sender: Sender,
        buffer: deque[Entry | Record],
    ) -> None:
        self.id = run_id
        self.experiment = experiment
        self.experiment_id = experiment_id
        self.name = name
        self.url = f"{settings.url}/runs/{run_id}"
        self._settings = settings
        self._sender = sender
        self._buffer = buffer
        self._append = buffer.append
        self._step = 0
        self._system_step = 0
        self._finished = False
        self._pid = os.getpid()
        self._monitor: SystemMonitor | None = None
        self._artifacts = ArtifactLogger(self._append, staging_dir(settings.spool_dir, run_id))
        atexit.register(self._finish_at_exit)

    def __repr__(self) -> str:
        return f"<trackboard.Run {self.id} experiment={self.experiment!r} name={self.name!r}>"

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Records `metrics` at `step` (by default the step after the last one).

        Only copies the dict into a buffer: converting and sending happen in the background."""
        if self._finished:
            raise RuntimeError(f"run {self.id} is finished; start another with trackboard.init")
        if step is None:
            step = self._step
        self._step = step + 1
        self._append((step, _now(), dict(metrics)))
        if len(self._buffer) > self._sender.max_entries:
            self._sender.relieve()

    def _log_system(self, metrics: Mapping[str, float]) -> None:
        # System metrics count their own samples so they never move the training step.
        if not self._finished:
            self._append((self._system_step, _now(), dict(metrics)))
            self._system_step += 1

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Sets params (nested dicts flattened with `.`); a param once set cannot change."""
        self._append(params_record(flatten_params(params)))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._append(tags_record(stringify_tags(tags)))

    def alert(self, title: str, text: str = "", level: str = "info") -> None:
        """Tells the run's notification rules (`run.alert` triggers) something happened:
        sent in the background like everything else, never blocking; a retried send is
        still one alert. `level` is "info", "warn" or "error"."""
        if level not in ALERT_LEVELS:
            raise ValueError(f"level must be one of {', '.join(ALERT_LEVELS)}, got {level!r}")
        self._append(alert_record(str(title), str(text), level))

    # -- artifacts and media: staged on disk here, uploaded by the sender in the background --

    def _artifact_logger(self) -> ArtifactLogger:
        if self._finished:
            raise RuntimeError(f"run {self.id} is finished; start another with trackboard.init")
        return self._artifacts

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Uploads the file at `path` to the run's artifacts as `name` (a relative path,
        `a/b.txt`; by default the file's name) and returns that name. The file is copied
        at once, so it may be changed or deleted right after; the upload happens in the
        background (spooled when offline, retried; a file logged again under the same name
        replaces the earlier one)."""
        return self._artifact_logger().log_artifact(path, name)

    def log_artifacts(self, folder: str | os.PathLike[str], path: str | None = None) -> list[str]:
        """Uploads every file under `folder` (under `path` in the run's artifacts, else at
        its root), keeping the folder's layout; returns the names given."""
        return self._artifact_logger().log_artifacts(folder, path)

    def log_table(self, key: str, data: Any, columns: Sequence[str] | None = None) -> str:
        """Stores a table (a pandas DataFrame, a list of dicts, or a list of rows with
        `columns`) as `media/tables/<key>.json` and `.csv`; logging `key` again replaces it.
        Cells that are not numbers, text or booleans are stored as text; NaN as empty."""
        return self._artifact_logger().log_table(key, data, columns)

    def log_text(self, key: str, text: str) -> str:
        """Stores `text` as `media/text/<key>.txt`; logging `key` again replaces it."""
        return self._artifact_logger().log_text(key, text)

    def log_image(
        self, key: str, image: Any, step: int | None = None, caption: str | None = None
    ) -> int:
        """Adds an image to the series `key` at `step` (by default the step after this key's
        last one) and returns the step. `image` is a PIL image, an array (HxW, HxWx3 or
        HxWx4; floats in [0, 1] are scaled to 0-255) or a PNG/JPEG/GIF/WebP file; arrays and
        PIL images are stored as PNG. The dashboard's Media tab shows the series with a step
        slider."""
        return self._artifact_logger().log_image(key, image, step, caption)

    def log_histogram(
        self, key: str, values_or_counts: Any, step: int | None = None, bins: int = 64
    ) -> int:
        """Adds a histogram to the series `key` at `step` (by default the step after this
        key's last one) and returns the step: of raw values (a list or array, binned into
        `bins` bins; non-finite values left out), or of counts already made (numpy's
        `(counts, edges)` or `{"counts": [...], "bins": [...edges]}`)."""
        return self._artifact_logger().log_histogram(key, values_or_counts, step, bins)

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until everything logged so far is readable (stored, and committed when the
        server queued it for a worker), so `Api().history` returns it; False, with a warning,
        if `timeout` ran out first (nothing is lost: sending goes on). Offline, the buffer goes
        to the spool and the answer is False at once."""
        return self._sender.flush(timeout)

    def finish(self, status: str = "FINISHED", timeout: float | None = None) -> None:
        """Sends what is buffered and the final status, and waits until the points are
        readable, at most `timeout` seconds in all (default `TRACKBOARD_FINISH_TIMEOUT`, 15 s);
        what could not be sent stays in the spool for `trackboard sync`, and a warning tells
        of anything sent but not yet readable."""
        self._finish(status, timeout, wait_readable=True)

    def _finish(self, status: str, timeout: float | None, wait_readable: bool) -> None:
        if status not in TERMINAL_STATUSES:
            raise ValueError(
                f"status must be one of {', '.join(TERMINAL_STATUSES)}, got {status!r}"
            )
        if self._finished:
            return
        if self._monitor is not None:
            self._monitor.stop()
        self._finished = True
        atexit.unregister(self._finish_at_exit)
        self._append(status_record(status, int(_now() * 1000)))
        left = self._sender.close(
            self._settings.finish_timeout if timeout is None else timeout, wait_readable
        )
        if left is not None:
            logger.warning(
                "trackboard: run %s is saved in %s; upload it with `trackboard sync`", self.id, left
            )

    def _finish_at_exit(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked child exiting: the run belongs to the parent
        # A script that died of an uncaught exception leaves it in sys.last_value.
        last = getattr(sys, "last_value", None) if not hasattr(sys, "ps1") else None
        status = "FINISHED"
        if isinstance(last, KeyboardInterrupt):
            status = "KILLED"
        elif isinstance(last, BaseException):
            status = "FAILED"
        # Nothing reads after exit: the points only have to be durable, not yet readable.
        self._finish(status, None, wait_readable=False)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish("FINISHED")
        elif issubclass(exc_type, SystemExit):
            code = exc.code if isinstance(exc, SystemExit) else None
            self.finish("FINISHED" if code in (0, None) else "FAILED")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("KILLED")
        else:
            self.finish("FAILED")

    def _start_system_metrics(self, interval: float) -> None:
        self._monitor = SystemMonitor(self._log_system, interval)
        self._monitor.start()


def _create_online(
    transport: Transport, experiment: str, body: dict[str, Any], settings: ClientSettings
) -> tuple[int, dict[str, Any]]:
    """Creates experiment and run, retrying for `init_timeout` seconds; TransientError then."""
    deadline = time.monotonic() + settings.init_timeout
    delay = 0.1
    while True:
        remaining = deadline - time.monotonic()
        try:
            experiment_id = ensure_experiment(transport, experiment, timeout=max(0.5, remaining))
            return experiment_id, create_run(
                transport, experiment_id, body, timeout=max(0.5, remaining)
            )
        except TransientError:
            if time.monotonic() + delay >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def start_run(
    settings: ClientSettings,
    experiment: str,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    system_metrics: bool = False,
    system_metrics_interval: float = 10.0,
    http_transport: httpx.BaseTransport | None = None,
) -> Run:
    """What `trackboard.init` does, with every setting explicit."""
    if not experiment:
        raise ValueError("experiment must be a non-empty name")
    run_id = new_id()
    body: dict[str, Any] = {
        "id": run_id,
        "start_time": int(_now() * 1000),
        "user": _current_user(),
        "tags": stringify_tags(tags or {}),
        "params": flatten_params(config or {}),
    }
    if name is not None:
        body["name"] = name
    transport = Transport(
        settings.url, settings.api_key, settings.request_timeout, http_transport=http_transport
    )
    experiment_id: int | None = None
    first_record: Record | None = None
    creation_queued = False  # answered 202: the server replays it once its database is back
    if settings.mode == "online":
        try:
            experiment_id, created = _create_online(transport, experiment, body, settings)
        except TransientError as exc:
            logger.warning(
                "trackboard: cannot reach %s (%s); run %s is kept on disk and sent when it is back",
                settings.url,
                exc.reason,
                run_id,
            )
            first_record = create_run_record(experiment, body)
        except RequestRejectedError:
            transport.close()
            raise
        else:
            run_id, name = str(created["id"]), str(created.get("name") or name)
            creation_queued = bool(created.get("queued"))
    else:
        first_record = create_run_record(experiment, body)

    buffer: deque[Entry | Record] = deque()
    sender = Sender(
        settings,
        buffer,
        RunDelivery(transport, None if first_record else run_id, creation_queued),
        spool_path(settings.spool_dir, run_id),
        first_record,
        network=settings.mode == "online",
    )
    run = Run(
        run_id=run_id,
        experiment=experiment,
        experiment_id=experiment_id,
        name=name,
        settings=settings,
        sender=sender,
        buffer=buffer,
    )
    if system_metrics:
        run._start_system_metrics(system_metrics_interval)
    return run
