"""Client settings: arguments of `init`/`Api`, else `TRACKBOARD_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

DEFAULT_URL = "http://127.0.0.1:5005"

Mode = Literal["online", "offline"]


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def default_home() -> Path:
    raw = os.environ.get("TRACKBOARD_HOME")
    return Path(raw).expanduser() if raw else Path.home() / ".trackboard"


@dataclass(frozen=True)
class ClientSettings:
    """How a run talks to the server and where it spools when it cannot."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    mode: Mode = "online"
    home: Path = field(default_factory=default_home)
    # Seconds between two sends of buffered points; a crash loses at most this much.
    flush_interval: float = 1.0
    # Memory for points waiting to be sent; past it they go to the spool.
    max_buffer_bytes: int = 64 * 1024 * 1024
    # How long `init` tries to reach the server before running offline.
    init_timeout: float = 5.0
    # How long `finish` (and the exit hook) waits for the server before spooling the rest.
    finish_timeout: float = 15.0
    request_timeout: float = 10.0
    # Retry delays double from `retry_base` up to `retry_cap` seconds (Retry-After overrides).
    retry_base: float = 0.2
    retry_cap: float = 10.0
    # Largest batch the API takes.
    max_batch_points: int = 10_000

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @classmethod
    def from_env(
        cls,
        url: str | None = None,
        api_key: str | None = None,
        mode: str | None = None,
    ) -> ClientSettings:
        """Explicit arguments win over the environment, which wins over the defaults."""
        resolved_mode = (mode or os.environ.get("TRACKBOARD_MODE") or "online").lower()
        if resolved_mode not in ("online", "offline"):
            raise ValueError(
                f"TRACKBOARD_MODE must be 'online' or 'offline', got {resolved_mode!r}"
            )
        max_mb = _env_float("TRACKBOARD_MAX_BUFFER_MB", 64.0)
        return cls(
            url=(url or os.environ.get("TRACKBOARD_URL") or DEFAULT_URL).rstrip("/"),
            api_key=api_key or os.environ.get("TRACKBOARD_API_KEY") or None,
            mode="offline" if resolved_mode == "offline" else "online",
            home=default_home(),
            flush_interval=_env_float("TRACKBOARD_FLUSH_INTERVAL", 1.0),
            max_buffer_bytes=int(max_mb * 1024 * 1024),
            init_timeout=_env_float("TRACKBOARD_INIT_TIMEOUT", 5.0),
            finish_timeout=_env_float("TRACKBOARD_FINISH_TIMEOUT", 15.0),
            retry_cap=_env_float("TRACKBOARD_RETRY_MAX_DELAY", 10.0),
        )
