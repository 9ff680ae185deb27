"""`trackboard keys create|list|revoke`: API keys of projects, straight on the database.

A new key is printed once, alone on the last line, so scripts can take `tail -n 1`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)

Result = TypeVar("Result")
ROLES = ("viewer", "editor", "owner")


def run_transaction(work: Callable[[AsyncSession], Awaitable[Result]]) -> Result:
    """Run `work` in one committed transaction on the configured database."""
    from trackboard.server.backends.database import Database
    from trackboard.server.config import Settings
    from trackboard.server.errors import TrackboardError
    from trackboard.server.migrate import upgrade_database

    settings = Settings()
    if settings.is_embedded:
        settings.home.mkdir(parents=True, exist_ok=True)

    async def run() -> Result:
        database = Database.connect(settings.resolved_database_url(), pool_size=1)
        try:
            if settings.should_migrate_on_start():
                await upgrade_database(database.engine)
            async with database.transaction(write=True) as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except TrackboardError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def show_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


@app.command()
def create(
    project: Annotated[str, typer.Option(help="Project name (created if it does not exist).")],
    role: Annotated[str, typer.Option(help="viewer, editor or owner.")] = "editor",
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
    user: Annotated[str | None, typer.Option(help="The user the key acts for.")] = None,
) -> None:
    """Create a key for PROJECT with ROLE; the key is shown only this once."""
    from trackboard.server.accounts import service
    from trackboard.server.accounts.roles import Role

    if role.lower() not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")

    async def work(session: AsyncSession) -> tuple[str, str, bool]:
        found, created = await service.get_or_create_project(session, project)
        user_id = None if user is None else (await service.get_user_by_name(session, user)).id
        api_key, key = await service.create_api_key(
            session, found.id, Role.parse(role), name=name, user_id=user_id
        )
        return api_key.prefix, key, created

    prefix, key, created = run_transaction(work)
    if created:
        typer.echo(f"created project {project!r}", err=True)
    typer.echo(
        f"key {prefix} ({role.lower()} of {project!r}); it will not be shown again:", err=True
    )
    typer.echo(key)


@app.command("list")
def list_keys(
    project: Annotated[str | None, typer.Option(help="Only this project's keys.")] = None,
) -> None:
    """List keys (prefix, project, role, last use, revocation); never the keys themselves."""
    from trackboard.server.accounts import service

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        project_id = None
        if project is not None:
            project_id = (await service.get_project_by_name(session, project)).id
        names = {p.id: p.name for p in await service.list_projects(session, None)}
        return [
            (
                str(k.id),
                k.prefix,
                names.get(k.project_id, str(k.project_id)),
                k.role,
                k.name or "-",
                show_time(k.created_at),
                show_time(k.last_used_at),
                "revoked " + show_time(k.revoked_at) if k.revoked_at else "active",
            )
            for k in await service.list_api_keys(session, project_id)
        ]

    rows = run_transaction(work)
    header = ("ID", "PREFIX", "PROJECT", "ROLE", "NAME", "CREATED", "LAST USED", "STATE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@app.command()
def revoke(
    key_or_id: Annotated[str, typer.Argument(help="The key, its prefix or its id.")],
) -> None:
    """Revoke a key: refused by every server instance within a second."""
    from trackboard.server.accounts import service
    from trackboard.server.backends.cache import open_cache
    from trackboard.server.config import Settings
    from trackboard.server.gateway.authentication import TOMBSTONE, key_cache_key

    async def work(session: AsyncSession) -> tuple[str, str]:
        api_key = await service.find_api_key(session, key_or_id)
        await service.revoke_api_key(session, api_key)
        return api_key.prefix, api_key.key_hash

    prefix, key_hash = run_transaction(work)
    settings = Settings()
    if settings.redis_url:
        # Servers cache what a key grants; the tombstone makes them all refuse it now.
        async def forget() -> None:
            cache = open_cache(settings.redis_url, settings.redis_key_prefix)
            try:
                await cache.set(key_cache_key(key_hash), TOMBSTONE, 600)
            finally:
                await cache.close()

        asyncio.run(forget())
    typer.echo(f"revoked {prefix}")
