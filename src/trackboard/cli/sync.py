"""`trackboard sync [PATH]`: uploads runs spooled while offline, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from trackboard.client.settings import ClientSettings
from trackboard.client.spool import find_spools
from trackboard.client.sync import SyncResult, pending_bytes, result_line, sync_spool
from trackboard.client.transport import Transport


def sync(
    path: Annotated[
        Path | None,
        typer.Argument(help="A spool file or folder (default: $TRACKBOARD_HOME/spool)."),
    ] = None,
    url: Annotated[str | None, typer.Option(help="Server URL (default: $TRACKBOARD_URL).")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key (default: $TRACKBOARD_API_KEY).")
    ] = None,
    retry_for: Annotated[
        float, typer.Option(help="Seconds to keep retrying an unreachable server.")
    ] = 30.0,
) -> None:
    """Upload spooled runs. Safe to re-run: nothing is stored twice."""
    settings = ClientSettings.from_env(url=url, api_key=api_key, mode="online")
    console = Console(stderr=True)
    spools = find_spools(path or settings.spool_dir)
    if not spools:
        console.print(f"Nothing to sync in {path or settings.spool_dir}.")
        return
    results: list[SyncResult] = []
    transport = Transport(settings.url, settings.api_key, settings.request_timeout)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    try:
        with progress:
            total = sum(pending_bytes(spool) for spool in spools)
            task = progress.add_task(f"Syncing {len(spools)} run(s)", total=total)
            for spool in spools:
                results.append(
                    sync_spool(
                        spool,
                        transport,
                        on_progress=lambda n: progress.advance(task, n),
                        retry_for=retry_for,
                        on_skip=lambda message: progress.console.print(f"  [yellow]{message}"),
                    )
                )
    finally:
        transport.close()
    colours = {"synced": "green", "busy": "yellow", "failed": "red"}
    for result in results:
        outcome, line = result_line(result)
        word = "skipped" if outcome == "busy" else outcome
        console.print(f"[{colours[outcome]}]{word}[/] {line}")
    if any(result.outcome == "failed" for result in results):
        raise typer.Exit(code=1)
