"""`trackboard worker`: write queued metric batches to the database (distributed mode)."""

from typing import Annotated

import typer


def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of the worker's Prometheus /metrics (0: none).")
    ] = None,
) -> None:
    """Consume metric batches from TRACKBOARD_AMQP_URL into TRACKBOARD_DATABASE_URL."""
    from trackboard.server.config import Settings
    from trackboard.server.worker import main

    settings = Settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"worker_metrics_port": metrics_port})
    if not settings.amqp_url:
        typer.secho("TRACKBOARD_AMQP_URL is not set: nothing to consume.", fg="red", err=True)
        raise typer.Exit(2)
    main(settings)
