"""`trackboard export` in the full (Typer) CLI: the options of `cli.export`, same behaviour."""

from pathlib import Path
from typing import Annotated

import typer

from trackboard.cli.export import FORMATS, ExportFailed, export_runs


def export(
    experiment: Annotated[str, typer.Option(help="Experiment id or name.")],
    filter: Annotated[
        str | None, typer.Option(help='MLflow filter, e.g. "metrics.acc > 0.9".')
    ] = None,
    order_by: Annotated[
        list[str] | None, typer.Option(help='e.g. "metrics.acc DESC" (repeatable).')
    ] = None,
    format: Annotated[str, typer.Option(help=f"One of {', '.join(FORMATS)}.")] = "csv",
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated columns, e.g. name,params.lr.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Server URL (default: $TRACKBOARD_URL).")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key (default: $TRACKBOARD_API_KEY).")
    ] = None,
) -> None:
    """Write every run matching a search to a CSV or JSON-lines file, streamed."""
    if format not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    try:
        written = export_runs(
            experiment=experiment,
            filter_text=filter,
            order_by=order_by,
            file_format=format,
            columns=columns.split(",") if columns else None,
            output=output,
            url=url,
            api_key=api_key,
        )
    except ExportFailed as exc:
        typer.echo(f"trackboard export: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if output is not None:
        typer.echo(f"Wrote {written:,} bytes to {output}", err=True)
