"""`trackboard import tensorboard <logdir>`: copy TensorBoard scalars and hparams into
Trackboard, one run per event-file folder; running it again adds nothing twice.

Like `trackboard import wandb`, it runs the MLflow importer's copy (`import_from_mlflow`
takes any source), progress bar and summary: `import_mlflow.import_with_progress`."""

from typing import Annotated

import typer

from trackboard.cli.import_mlflow import DEFAULT_URL, exit_with_error, import_with_progress

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
        raise exit_with_error(str(exc)) from exc
    import_with_progress(reader, to, api_key)
