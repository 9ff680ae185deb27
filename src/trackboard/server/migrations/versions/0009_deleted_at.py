"""deletion times of runs and experiments

Revision ID: 0009_deleted_at
Revises: 0008_login_sessions
Create Date: 2026-12-07 14:50:00

`trackboard gc` and the retention policy purge what was deleted more than N days ago, so
the time of the deletion is kept (NULL while active). Rows deleted before this migration get
the migration's time: they become purgeable N days after the upgrade, never earlier.
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_deleted_at"
down_revision: str | None = "0008_login_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("runs", "experiments")


def upgrade() -> None:
    now_ms = int(time.time() * 1000)
    for table in TABLES:
        # A nullable column is added in place by both stores (no table copy on SQLite).
        op.add_column(table, sa.Column("deleted_at", sa.BigInteger(), nullable=True))
        op.execute(
            sa.text(
                f"UPDATE {table} SET deleted_at = :now WHERE lifecycle_stage = 'deleted'"
            ).bindparams(now=now_ms)
        )
    # The purge walks deleted runs by deletion time; active runs (NULL) stay out of it.
    op.create_index(
        "ix_runs_deleted_at",
        "runs",
        ["deleted_at"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_runs_deleted_at", table_name="runs")
    for table in TABLES:
        # SQLite (3.35+) drops an unindexed column in place; a batch copy of the table
        # would rewrite its foreign keys and break the earlier migrations' downgrades.
        op.drop_column(table, "deleted_at")
