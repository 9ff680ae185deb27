"""`trackboard import mlflow --from <URI or mlruns folder>`: copy MLflow runs into Trackboard.

Writes through the target server's REST API (`--to`), so it works against any Trackboard,
embedded or distributed; running it again adds nothing twice.
"""

import os
from typing import Annotated

import typer

app = typer.Typer(help="Import runs from other trackers.", no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1:5005"


@app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="MLflow tracking URI (http[s]://host:port) or an mlruns folder (path or file://).",
        ),
    ],
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="Import only this experiment (by name).")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help=f"Trackboard server URL [env TRACKBOARD_URL, {DEFAULT_URL}]."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="TRACKBOARD_API_KEY", help="API key.")
    ] = None,
) -> None:
    """Import experiments, runs, params, tags and metric histories (artifacts are not copied)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from trackboard.importer.mlflow_rest import MlflowRestSource, SourceError
    from trackboard.importer.mlruns_folder import MlrunsSource
    from trackboard.importer.target import TargetError, TrackboardTarget
    from trackboard.importer.transfer import Source, import_from_mlflow

    url = to or os.environ.get("TRACKBOARD_URL") or DEFAULT_URL
    try:
        reader: Source = (
            MlflowRestSource(source)
            if source.startswith(("http://", "https://"))
            else MlrunsSource(source)
        )
    except SourceError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    target = TrackboardTarget(url, api_key)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task(f"reading {reader.description}", total=None)

        def found(total: int) -> None:
            progress.update(task, total=total, description="importing runs")

        try:
            summary = import_from_mlflow(
                reader,
                target,
                experiment_name=experiment,
                on_runs_found=found,
                on_run_done=lambda run: progress.advance(task),
            )
        except (SourceError, TargetError) as exc:
            progress.stop()
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from exc
        finally:
            reader.close()
            target.close()
    typer.echo(
        f"imported {summary.experiments} experiments, {summary.runs} runs "
        f"({summary.new_runs} new), {summary.points_sent} metric points "
        f"({summary.points_already_there} were already there) into {url}"
    )
