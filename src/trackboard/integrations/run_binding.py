"""The run an integration logs to: started on first use (or handed in by the user), ended
with the status its training ended with, a crash's message kept as a tag."""

from __future__ import annotations

import os
import sys
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from trackboard.client.run import Run, start_run
from trackboard.client.settings import ClientSettings
from trackboard.client.values import flatten_params

# Why a run ended FAILED or KILLED: "<exception type>: <message>".
FAILURE_TAG = "trackboard.failure"
# The server's limits (MLflow's): a longer value would get the whole batch refused.
MAX_PARAM_CHARS = 6000
MAX_TAG_CHARS = 8000


def status_for(exc: BaseException | None) -> str:
    """FINISHED without an exception, KILLED for Ctrl-C, FAILED for anything else."""
    if exc is None:
        return "FINISHED"
    if isinstance(exc, KeyboardInterrupt):
        return "KILLED"
    return "FAILED"


def describe(exc: BaseException) -> str:
    """`ValueError: bad input`, or the type alone when there is no message (Ctrl-C)."""
    message = str(exc)
    return (f"{type(exc).__name__}: {message}" if message else type(exc).__name__)[:MAX_TAG_CHARS]


def params_of(config: Mapping[Any, Any], prefix: str = "") -> dict[str, str]:
    """`config` flattened into string params, each cut to the server's limit."""
    return {key: value[:MAX_PARAM_CHARS] for key, value in flatten_params(config, prefix).items()}


def numeric(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `metrics` that are numbers (or numpy/torch scalars); frameworks mix in
    strings and lists that a metric series cannot hold."""
    kept: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        # numpy and torch scalars have no dimensions; arrays and tensors are not metrics.
        if isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0:
            kept[key] = value
    return kept


@dataclass(frozen=True)
class RunOptions:
    """How an integration starts its run when none is handed in: `trackboard.init`'s
    arguments, with system metrics on by default. The experiment falls back to
    `TRACKBOARD_EXPERIMENT`, then to the integration's default."""

    experiment: str | None = None
    name: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    api_key: str | None = None
    system_metrics: bool = True
    system_metrics_interval: float = 10.0


class RunBinding:
    """Starts the run lazily, and ends it only if it started it: a run the user handed in
    stays open (the user finishes it), but a crash is still tagged on it."""

    def __init__(self, options: RunOptions, default_experiment: str, run: Run | None) -> None:
        self._options = options
        self._default_experiment = default_experiment
        self._run = run
        self._owned = run is None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._run is not None

    def run(self, name: str | None = None) -> Run:
        """The run, started now (named `name` unless the options name it) if needed."""
        if self._run is None:
            with self._lock:
                if self._run is None:
                    self._run = self._start(name)
        return self._run

    def _start(self, name: str | None) -> Run:
        options = self._options
        experiment = (
            options.experiment
            or os.environ.get("TRACKBOARD_EXPERIMENT")
            or self._default_experiment
        )
        run = start_run(
            ClientSettings.from_env(url=options.url, api_key=options.api_key),
            experiment,
            name=options.name or name,
            tags=options.tags,
            system_metrics=options.system_metrics,
            system_metrics_interval=options.system_metrics_interval,
        )
        _watch(self)
        return run

    def end(self, exc: BaseException | None = None) -> None:
        """Ends the run with the status `exc` calls for; the next use starts a new one."""
        run = self._run
        if run is None:
            return
        if exc is not None:
            run.set_tags({FAILURE_TAG: describe(exc)})
        if not self._owned:
            return
        _unwatch(self)
        self._run = None
        run.finish(status_for(exc))


# Runs an integration started and has not ended: an uncaught exception ends them (the
# frameworks' callbacks hear nothing of a crash; Lightning's loggers are the exception).
_open_bindings: weakref.WeakSet[RunBinding] = weakref.WeakSet()
_hook_lock = threading.Lock()
_previous_excepthook = sys.excepthook


def _watch(binding: RunBinding) -> None:
    global _previous_excepthook
    with _hook_lock:
        if sys.excepthook is not _end_open_runs:
            _previous_excepthook = sys.excepthook
            sys.excepthook = _end_open_runs
        _open_bindings.add(binding)


def _unwatch(binding: RunBinding) -> None:
    with _hook_lock:
        _open_bindings.discard(binding)


def _end_open_runs(
    exc_type: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    """The interpreter calls this with an exception nothing caught, before exit hooks."""
    for binding in list(_open_bindings):
        binding.end(exc)
    _previous_excepthook(exc_type, exc, traceback)
