"""`trackboard notifier`: send notifications for the rules (distributed mode)."""

from typing import Annotated

import typer


def notifier(
    metrics_port: Annotated[
        int | None, typer.Option(help="Port of the notifier's Prometheus /metrics (0: none).")
    ] = None,
) -> None:
    """Consume run and metric events from TRACKBOARD_AMQP_URL and notify by the rules."""
    from trackboard.server.config import Settings
    from trackboard.server.notifier import main

    settings = Settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"notifier_metrics_port": metrics_port})
    if not settings.amqp_url:
        typer.secho(
            "TRACKBOARD_AMQP_URL is not set: the embedded server notifies by itself.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    main(settings)
