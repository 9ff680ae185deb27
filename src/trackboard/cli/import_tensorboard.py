"""`trackboard import tensorboard <logdir>`: copy TensorBoard scalars and hparams into
Trackboard, one run per event-file folder; running it again adds nothing twice.

`import_with_progress` is also what `trackboard import wandb` runs: the MLflow importer's
copy (`import_from_mlflow` takes any source), progress bar and summary."""

import os
import time
from typing import TYPE_CHECKING, Annotated

import typer

from trackboard.cli.import_mlflow import DEFAULT_URL, _fail, _summary_lines

if TYPE_CHECKING:
    from trackboard.importer.transfer import Source


# The target options every `trackboard import` command takes.
TargetUrl = Annotated[
    str | None,
    typer.Option(
        "--to", help=f"Trackboard server URL (default: TRACKBOARD_URL, else {DEFAULT_URL})."
    ),
]
TargetApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="TRACKBOARD_API_KEY", help="API key.")
]


def import_with_progress(reader: "Source", to: str | None, api_key: str | None) -> None:
    """Copies everything `reader` holds into the server at `to` (or `TRACKBOARD_URL`),
    showing progress, then prints a summary; exits 1 with the reason on an error."""
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
        TextColumn("runs · {task.fields[points]:,} points"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task(f"reading {reader.description}", total=None, points=0)

        def stored(count: int) -> None:
            progress.update(task, points=progress.tasks[task].fields["points"] + count)

        try:
            summary = import_from_mlflow(
                reader,
                target,
                on_runs_found=lambda total: progress.update(
                    task, total=total, description="importing"
                ),
                on_run_done=lambda run: progress.advance(task),
                on_points=stored,
            )
        except (SourceError, TargetError) as exc:
            progress.stop()
            raise _fail(str(exc)) from exc
        finally:
            reader.close()
            target.close()
    for line in _summary_lines(summary, url, time.monotonic() - started):
        typer.echo(line)


def import_tensorboard(
    logdir: Annotated[str, typer.Argument(help="TensorBoard log directory.")],
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment", help="Experiment to import into (default: the folder's name)."
        ),
    ] = None,
    to: TargetUrl = None,
    api_key: TargetApiKey = None,
) -> None:
    """Import scalars (steps and wall times) and HParams values, one run per folder of
    event files (images, histograms and other plugins' data are not copied)."""
    from trackboard.importer.records import SourceError
    from trackboard.importer.tensorboard import TensorBoardSource

    try:
        reader = TensorBoardSource(logdir, experiment)
    except SourceError as exc:
        raise _fail(str(exc)) from exc
    import_with_progress(reader, to, api_key)
