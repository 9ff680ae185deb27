"""`trackboard` command: server, database migrations, version (more commands register here)."""

import ipaddress
import os
from typing import Annotated

import typer

from trackboard._version import __version__
from trackboard.cli.db import app as db_app
from trackboard.cli.export_command import export
from trackboard.cli.gc import gc
from trackboard.cli.import_mlflow import app as import_app
from trackboard.cli.import_tensorboard import import_tensorboard
from trackboard.cli.import_wandb import import_wandb
from trackboard.cli.keys import app as keys_app
from trackboard.cli.notifier import notifier
from trackboard.cli.notify import app as notify_app
from trackboard.cli.sync import sync
from trackboard.cli.users import app as users_app
from trackboard.cli.worker import worker

app = typer.Typer(
    name="trackboard",
    help="Trackboard: fast, MLflow-compatible ML experiment tracking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
import_app.command("tensorboard")(import_tensorboard)
import_app.command("wandb")(import_wandb)
app.add_typer(keys_app, name="keys")
app.add_typer(notify_app, name="notify")
app.add_typer(users_app, name="users")
app.command()(worker)
app.command()(notifier)
app.command()(sync)
app.command()(export)
app.command()(gc)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"trackboard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Trackboard: fast, MLflow-compatible ML experiment tracking."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 5005,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow a non-loopback address with authentication off (anyone can read "
            "and change everything).",
        ),
    ] = False,
) -> None:
    """Run the tracking server (embedded SQLite store unless TRACKBOARD_DATABASE_URL is set)."""
    import uvicorn

    from trackboard.server.config import Settings

    settings = Settings(host=host, port=port)
    if not is_loopback(host) and not settings.auth:
        if not insecure:
            typer.secho(
                f"refusing to bind to {host} with authentication off: anyone who can reach "
                "this address could read and change all data. Set TRACKBOARD_AUTH=on (and "
                "create keys with `trackboard keys create`), or pass --insecure.",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2)
        typer.secho(
            f"WARNING: binding to {host} with authentication off (--insecure): anyone who "
            "can reach this address can read and change all data.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    if workers > 1 and settings.should_migrate_on_start():
        # Migrate once here, not racing in every worker.
        import asyncio

        from trackboard.server.backends.database import create_engine
        from trackboard.server.migrate import upgrade_database

        settings.home.mkdir(parents=True, exist_ok=True)

        async def migrate() -> None:
            engine = create_engine(settings.resolved_database_url())
            try:
                await upgrade_database(engine)
            finally:
                await engine.dispose()

        asyncio.run(migrate())
    # The app (built by the factory in each worker) derives its default allowed hosts from
    # the address bound: loopback names only on loopback.
    os.environ["TRACKBOARD_HOST"] = host
    from trackboard.cli.banner import banner

    typer.echo(banner(settings), err=True)
    uvicorn.run(
        "trackboard.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # uvicorn's loggers go through the app's handler (JSON), not a format of their own.
        log_config=None,
        # X-Forwarded-For is read by the gateway, from TRACKBOARD_TRUSTED_PROXIES only.
        proxy_headers=False,
        # uvicorn's default, kept on purpose: permessage-deflate sends a live frame of a
        # 10-key batch at about 30 % of its bytes for 15-71 µs of event loop (measured in
        # docs/benchmarks-traffic.md), worth it for dashboards over the internet.
        ws_per_message_deflate=True,
    )


if __name__ == "__main__":
    app()
