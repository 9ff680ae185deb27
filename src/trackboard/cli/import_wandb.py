"""`trackboard import wandb <dir>`: copy W&B offline runs (`wandb/offline-run-*/run-*.wandb`)
into Trackboard: config as params, tags, history as metrics, the exit status; running it
again adds nothing twice."""

from typing import Annotated

import typer

from trackboard.cli.import_mlflow import exit_with_error, import_with_progress
from trackboard.cli.import_tensorboard import TargetApiKey, TargetUrl


def import_wandb(
    location: Annotated[
        str,
        typer.Argument(
            help="A wandb folder (or the folder holding it), one offline-run-* folder, or "
            "one .wandb file."
        ),
    ],
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment", help="Experiment to import into (default: each run's project)."
        ),
    ] = None,
    to: TargetUrl = None,
    api_key: TargetApiKey = None,
) -> None:
    """Import W&B offline runs: config, tags, numeric history (media, tables, system
    metrics' files and artifacts are not copied; runs on W&B's servers are not read)."""
    from trackboard.importer.records import SourceError
    from trackboard.importer.wandb import WandbOfflineSource

    try:
        reader = WandbOfflineSource(location, experiment)
    except SourceError as exc:
        raise exit_with_error(str(exc)) from exc
    import_with_progress(reader, to, api_key)
