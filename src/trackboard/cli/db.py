"""`trackboard db upgrade`: apply schema migrations (the distributed mode runs it once)."""

import asyncio
from typing import Annotated

import typer

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to TRACKBOARD_DATABASE_URL (default: the embedded SQLite file)."""
    from trackboard.server.backends.database import create_engine
    from trackboard.server.config import Settings
    from trackboard.server.migrate import upgrade_database

    settings = Settings()
    if settings.is_embedded:
        settings.home.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        engine = create_engine(settings.resolved_database_url())
        try:
            await upgrade_database(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo(f"database at {revision}")
