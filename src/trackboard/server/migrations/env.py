"""Alembic environment: runs migrations on the connection the caller hands in."""

from alembic import context
from sqlalchemy import Connection

from trackboard.server.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run through trackboard.server.migrate, not the alembic CLI")
run_migrations(connection)
