"""`trackboard import mlflow --from <tracking URI or mlruns folder>`: copy MLflow runs into
Trackboard.

Reads any MLflow store through MLflow's client (the `mlflow-import` extra) and writes
through the target server's REST API (`--to`), so it works against any Trackboard,
embedded or distributed; running it again adds nothing twice.
"""

import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from trackboard.importer.transfer import ImportSummary, Source

app = typer.Typer(help="Import runs from other trackers.", no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1:5005"
# How MLflow names files its server proxies; a store read directly cannot reach them.
PROXIED = "mlflow-artifacts"


def exit_with_error(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def _summary_lines(summary: "ImportSummary", url: str, seconds: float) -> list[str]:
    rate = summary.points_sent / seconds if seconds > 0 else 0.0
    return [
        f"imported into {url} in {seconds:.1f} s:",
        f"  experiments  {summary.experiments:,}",
        f"  runs         {summary.runs:,} ({summary.new_runs:,} new)",
        f"  points       {summary.points_sent:,} sent ({rate:,.0f} points/s), "
        f"{summary.points_already_there:,} already there",
        f"  datasets     {summary.datasets_sent:,} sent, "
        f"{summary.datasets_already_there:,} already there",
        f"  artifacts    {summary.artifacts_sent:,} files sent "
        f"({summary.artifact_bytes_sent:,} bytes), "
        f"{summary.artifacts_already_there:,} already there",
        f"  models       {summary.models_sent:,} sent, "
        f"{summary.models_already_there:,} already there, "
        f"{summary.linked_points_sent:,} linked points sent",
    ]


@app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="MLflow tracking URI (http[s]://, sqlite:///, postgresql://, mysql://, "
            "file:) or an mlruns folder.",
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
    """Import experiments, runs, params, tags, metric histories, dataset inputs, logged
    models and artifacts."""
    from trackboard.importer.mlflow_store import open_mlflow_source
    from trackboard.importer.records import SourceError

    try:
        reader, note = open_mlflow_source(source)
    except SourceError as exc:
        raise exit_with_error(str(exc)) from exc
    if note:
        typer.secho(note, fg=typer.colors.YELLOW, err=True)
    import_with_progress(reader, to, api_key, experiment)


def import_with_progress(
    reader: "Source", to: str | None, api_key: str | None, experiment: str | None = None
) -> None:
    """Copy what `reader` holds (or only `experiment`) into the server at `to` (or
    `TRACKBOARD_URL`) with a progress bar (runs, points, points/s), then print a summary;
    exit 1 with the reason on an error, or after the summary when some part was not read."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from trackboard.importer.records import SourceError
    from trackboard.importer.target import TargetError, TrackboardTarget
    from trackboard.importer.transfer import import_from_mlflow

    url = to or os.environ.get("TRACKBOARD_URL") or DEFAULT_URL
    target = TrackboardTarget(url, api_key)
    started = time.monotonic()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs · {task.fields[points]:,} points · {task.fields[rate]:,.0f} points/s"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task(f"reading {reader.description}", total=None, points=0, rate=0)
        points = 0

        def found(total: int) -> None:
            progress.update(task, total=total, description="importing")

        def stored(count: int) -> None:
            nonlocal points
            points += count
            elapsed = time.monotonic() - started
            progress.update(task, points=points, rate=points / elapsed if elapsed else 0)

        try:
            summary = import_from_mlflow(
                reader,
                target,
                experiment_name=experiment,
                on_runs_found=found,
                on_run_done=lambda run: progress.advance(task),
                on_points=stored,
            )
        except (SourceError, TargetError) as exc:
            progress.stop()
            raise exit_with_error(str(exc)) from exc
        finally:
            reader.close()
            target.close()
    for line in _summary_lines(summary, url, time.monotonic() - started):
        typer.echo(line)
    for note in summary.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    if summary.errors:
        for error in summary.errors:
            typer.secho(f"not imported: {error}", fg=typer.colors.YELLOW, err=True)
        if any(PROXIED in error for error in summary.errors):
            typer.secho(
                f"Files behind an MLflow server's artifact proxy ({PROXIED} URIs) are read "
                "through that server: import with --from http(s)://<that server>.",
                err=True,
            )
        typer.secho("Run again to retry: nothing is copied twice.", err=True)
        raise typer.Exit(1)
