"""experiment_run_counts spread over 16 slots per experiment on PostgreSQL

Revision ID: 0014_spread_run_counts
Revises: 0013_global_order_indexes
Create Date: 2026-12-08 03:45:00

Migration 0012's triggers kept one row per experiment, updated in the transaction of every
run written to it. That row stays locked until the writing transaction commits, so runs
created at once in one experiment (the common case: a sweep, an importer, the scale loader)
waited on each other for the rest of each other's transactions: with 8 clients creating
runs in one experiment, 2 to 6 of their 13 database backends were waiting on it in each
sample of pg_stat_activity. Each experiment's count now lives in up to 16 rows (`slot`), a
transaction adding its change to the slot of its transaction id (modulo 16): ids are
handed out in sequence, so transactions begun close together mostly land on different rows
and do not wait; two that share a slot wait as before. The count is the sum
of an experiment's slots. A decrement may leave one slot negative; only the sum means
anything. SQLite allows one writer at a time, so there it stays one row (slot 0).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_spread_run_counts"
down_revision: str | None = "0013_global_order_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 16

# Deltas as in 0012: +1 for each active row after the statement, -1 for each before it.
DELTAS = {
    "new": "SELECT experiment_id, 1 AS runs, (status = 'RUNNING')::int AS running "
    "FROM new_runs WHERE lifecycle_stage = 'active'",
    "old": "SELECT experiment_id, -1 AS runs, -(status = 'RUNNING')::int AS running "
    "FROM old_runs WHERE lifecycle_stage = 'active'",
}


def _upsert(deltas: str) -> str:
    # Only for experiments that still exist: after an experiment's delete cascaded to its
    # runs (and to its count rows), the deltas of those runs must not write a row for it.
    # Rows locked in experiment order, so two writers that meet on a slot cannot deadlock.
    return f"""
        INSERT INTO experiment_run_counts AS c (experiment_id, slot, runs, running)
        SELECT d.experiment_id, (pg_current_xact_id()::text::bigint % {SLOTS})::smallint,
               SUM(d.runs), SUM(d.running)
        FROM ({deltas}) AS d
        WHERE EXISTS (SELECT 1 FROM experiments AS e WHERE e.id = d.experiment_id)
        GROUP BY d.experiment_id HAVING SUM(d.runs) <> 0 OR SUM(d.running) <> 0
        ORDER BY d.experiment_id
        ON CONFLICT (experiment_id, slot) DO UPDATE
        SET runs = c.runs + excluded.runs, running = c.running + excluded.running;
    """


FUNCTION = f"""
CREATE OR REPLACE FUNCTION count_experiment_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(DELTAS["new"])}
    ELSIF TG_OP = 'UPDATE' THEN
        {_upsert(DELTAS["new"] + " UNION ALL " + DELTAS["old"])}
    ELSE
        {_upsert(DELTAS["old"])}
    END IF;
    RETURN NULL;
END
$$
"""


def _function_0012() -> str:
    # The function as 0012 made it, for the downgrade.
    from importlib import import_module

    return str(
        import_module(
            "trackboard.server.migrations.versions.0012_experiment_run_counts"
        ).POSTGRES_FUNCTION
    ).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Writers wait while the table changes shape: none may count into it half-way.
    op.execute("LOCK TABLE runs IN SHARE MODE")
    op.add_column(
        "experiment_run_counts",
        sa.Column("slot", sa.SmallInteger(), nullable=False, server_default="0"),
    )
    op.drop_constraint("pk_experiment_run_counts", "experiment_run_counts", type_="primary")
    op.create_primary_key(
        "pk_experiment_run_counts", "experiment_run_counts", ["experiment_id", "slot"]
    )
    op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE runs IN SHARE MODE")
    op.execute(_function_0012())
    op.drop_constraint("pk_experiment_run_counts", "experiment_run_counts", type_="primary")
    # Each experiment's slots folded into one row (slot -1 while both kinds are there).
    op.execute(
        "INSERT INTO experiment_run_counts (experiment_id, slot, runs, running) "
        "SELECT experiment_id, -1, SUM(runs), SUM(running) FROM experiment_run_counts "
        "GROUP BY experiment_id"
    )
    op.execute("DELETE FROM experiment_run_counts WHERE slot <> -1")
    op.drop_column("experiment_run_counts", "slot")
    op.create_primary_key("pk_experiment_run_counts", "experiment_run_counts", ["experiment_id"])
