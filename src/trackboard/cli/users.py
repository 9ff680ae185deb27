"""`trackboard users create|grant`: dashboard users and their project roles.

There is no default user: the first one is made here, with a password typed twice
(or read from stdin with --password-stdin for scripts).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.cli.keys import ROLES, run_transaction

app = typer.Typer(help="Users: create, grant project roles.", no_args_is_help=True)


@app.command()
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    admin: Annotated[bool, typer.Option(help="May read and change every project.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user (argon2id password hash; at least 10 characters)."""
    from trackboard.server.accounts import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(session: AsyncSession) -> int:
        user = await service.create_user(session, username, password, is_admin=admin)
        return user.id

    user_id = run_transaction(work)
    typer.echo(f"created user {username!r} (id {user_id}{', admin' if admin else ''})")


@app.command()
def grant(
    username: Annotated[str, typer.Argument(help="An existing user.")],
    project: Annotated[str, typer.Option(help="Project name (created if it does not exist).")],
    role: Annotated[str, typer.Option(help="viewer, editor or owner.")] = "viewer",
) -> None:
    """Give USERNAME a role in PROJECT (replacing any role they had there)."""
    from trackboard.server.accounts import service
    from trackboard.server.accounts.roles import Role

    if role.lower() not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")

    async def work(session: AsyncSession) -> None:
        found, _ = await service.get_or_create_project(session, project)
        await service.set_member(session, found.id, username, Role.parse(role))

    run_transaction(work)
    typer.echo(f"{username!r} is now {role.lower()} of {project!r}")
