"""Trackboard's Python client: `trackboard.init(...)` to log a run, `trackboard.Api(...)`
to read runs back. Light on purpose: importing it loads httpx and nothing of the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trackboard._version import __version__
from trackboard.client.api import Api
from trackboard.client.objects import Experiment, MetricHistory, MetricSummary, RunInfo
from trackboard.client.run import Run, start_run
from trackboard.client.settings import ClientSettings
from trackboard.client.transport import RequestRejectedError, TrackboardError

__all__ = [
    "Api",
    "Experiment",
    "MetricHistory",
    "MetricSummary",
    "RequestRejectedError",
    "Run",
    "RunInfo",
    "TrackboardError",
    "__version__",
    "init",
]


def init(
    experiment: str,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    url: str | None = None,
    api_key: str | None = None,
    *,
    mode: str | None = None,
    system_metrics: bool = False,
) -> Run:
    """Starts a run in `experiment` (created if needed) and logs `config` as its params.

    `url` and `api_key` default to `TRACKBOARD_URL` and `TRACKBOARD_API_KEY`, then
    `http://127.0.0.1:5005`. With `mode="offline"` (or `TRACKBOARD_MODE=offline`), or when
    the server cannot be reached, the run is kept under `TRACKBOARD_HOME/spool/` and sent
    later (by the run itself once the server is back, or by `trackboard sync`).
    With `system_metrics=True`, CPU, memory, I/O (psutil) and GPUs (pynvml) are logged
    under `system/` every 10 s.
    """
    settings = ClientSettings.from_env(url=url, api_key=api_key, mode=mode)
    return start_run(
        settings,
        experiment,
        name=name,
        config=config,
        tags=tags,
        system_metrics=system_metrics,
    )
