"""search indexes: params and tags by (key, value), for run search on fresh data

Revision ID: 0006_search_indexes
Revises: 0005_notifications
Create Date: 2026-11-29 23:15:00

Run search reads the runs meeting a selective `params.k = 'v'` (or tags.) comparison, and
the first runs in the order of a param or tag, by a range scan of these indexes
(`search.candidates`). Partial: PostgreSQL refuses a B-tree entry above ~2,700 bytes and a
value may hold 6,000 (params) or 8,000 (tags) characters; 200 characters of value and 250 of
key stay under it in any encoding. The rare longer values are found by their own, small
index on the key alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_search_indexes"
down_revision: str | None = "0005_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHORT = sa.text("length(value) <= 200")
LONG = sa.text("length(value) > 200")


def upgrade() -> None:
    for table in ("run_params", "run_tags"):
        op.create_index(
            f"ix_{table}_key_value",
            table,
            ["key", "value"],
            postgresql_where=SHORT,
            sqlite_where=SHORT,
        )
        op.create_index(
            f"ix_{table}_key_long",
            table,
            ["key"],
            postgresql_where=LONG,
            sqlite_where=LONG,
        )


def downgrade() -> None:
    for table in ("run_params", "run_tags"):
        op.drop_index(f"ix_{table}_key_long", table_name=table)
        op.drop_index(f"ix_{table}_key_value", table_name=table)
