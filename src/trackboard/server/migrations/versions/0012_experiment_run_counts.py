"""experiment_run_counts: each experiment's active runs and RUNNING runs, kept by triggers

Revision ID: 0012_experiment_run_counts
Revises: 0011_partition_metric_chunks
Create Date: 2026-12-07 21:15:00

The experiments page shows every listed experiment's run count. Counting them from `runs`
costs an index entry per run (hundreds of thousands for the largest experiments of the
seed's 1M runs); this table answers a page of experiments with one primary-key probe each.
Triggers on `runs` keep it in the transaction of every change, whichever code path writes
runs (creation, status changes, soft delete and restore, purges, experiment deletes), so it
is never out of step with the rows it counts. On PostgreSQL they are statement triggers over
the transition tables: a bulk change (an experiment of 50k runs deleted) updates each
touched experiment's row once, not once per run. SQLite has row triggers only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_experiment_run_counts"
down_revision: str | None = "0011_partition_metric_chunks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

BACKFILL = """
    INSERT INTO experiment_run_counts (experiment_id, runs, running)
    SELECT experiment_id, COUNT(*), SUM(CASE WHEN status = 'RUNNING' THEN 1 ELSE 0 END)
    FROM runs WHERE lifecycle_stage = 'active' GROUP BY experiment_id
"""

# One function for the three statement triggers: the net change per experiment, +1 for each
# active row after the statement, -1 for each active row before it, written only where it is
# not zero (renaming or finishing a run touches no count, or one). A delete only decrements,
# by UPDATE: after an experiment's delete cascaded to its runs, its row is already gone and
# must not come back. Rows are locked in experiment order, so two writers cannot deadlock
# on them.
POSTGRES_DELTAS = {
    "new": "SELECT experiment_id, 1 AS runs, (status = 'RUNNING')::int AS running "
    "FROM new_runs WHERE lifecycle_stage = 'active'",
    "old": "SELECT experiment_id, -1 AS runs, -(status = 'RUNNING')::int AS running "
    "FROM old_runs WHERE lifecycle_stage = 'active'",
}


def _upsert(deltas: str) -> str:
    return f"""
        INSERT INTO experiment_run_counts AS c (experiment_id, runs, running)
        SELECT experiment_id, SUM(runs), SUM(running) FROM ({deltas}) AS d
        GROUP BY experiment_id HAVING SUM(runs) <> 0 OR SUM(running) <> 0
        ORDER BY experiment_id
        ON CONFLICT (experiment_id) DO UPDATE
        SET runs = c.runs + excluded.runs, running = c.running + excluded.running;
    """


POSTGRES_FUNCTION = f"""
CREATE FUNCTION count_experiment_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(POSTGRES_DELTAS["new"])}
    ELSIF TG_OP = 'UPDATE' THEN
        {_upsert(POSTGRES_DELTAS["new"] + " UNION ALL " + POSTGRES_DELTAS["old"])}
    ELSE
        UPDATE experiment_run_counts AS c
        SET runs = c.runs + d.runs, running = c.running + d.running
        FROM (
            SELECT experiment_id, SUM(runs) AS runs, SUM(running) AS running
            FROM ({POSTGRES_DELTAS["old"]}) AS o GROUP BY experiment_id
        ) AS d
        WHERE c.experiment_id = d.experiment_id;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = {
    "trg_runs_counted_insert": "AFTER INSERT ON runs REFERENCING NEW TABLE AS new_runs",
    "trg_runs_counted_update": (
        "AFTER UPDATE ON runs REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs"
    ),
    "trg_runs_counted_delete": "AFTER DELETE ON runs REFERENCING OLD TABLE AS old_runs",
}

# No conflict clause: SQLite would let the statement that fired the trigger override it.
SQLITE_ADD = """
    INSERT INTO experiment_run_counts (experiment_id, runs, running)
    SELECT NEW.experiment_id, 0, 0 WHERE NOT EXISTS (
        SELECT 1 FROM experiment_run_counts WHERE experiment_id = NEW.experiment_id
    );
    UPDATE experiment_run_counts
    SET runs = runs + 1, running = running + (NEW.status = 'RUNNING')
    WHERE experiment_id = NEW.experiment_id;
"""
SQLITE_REMOVE = """
    UPDATE experiment_run_counts
    SET runs = runs - 1, running = running - (OLD.status = 'RUNNING')
    WHERE experiment_id = OLD.experiment_id;
"""
SQLITE_TRIGGERS = {
    "trg_runs_counted_insert": (
        "AFTER INSERT ON runs WHEN NEW.lifecycle_stage = 'active'",
        SQLITE_ADD,
    ),
    "trg_runs_counted_delete": (
        "AFTER DELETE ON runs WHEN OLD.lifecycle_stage = 'active'",
        SQLITE_REMOVE,
    ),
    # An update is the old row taken out and the new one put in (each when active).
    "trg_runs_counted_update_old": (
        "AFTER UPDATE OF status, lifecycle_stage, experiment_id ON runs "
        "WHEN OLD.lifecycle_stage = 'active'",
        SQLITE_REMOVE,
    ),
    "trg_runs_counted_update_new": (
        "AFTER UPDATE OF status, lifecycle_stage, experiment_id ON runs "
        "WHEN NEW.lifecycle_stage = 'active'",
        SQLITE_ADD,
    ),
}


def upgrade() -> None:
    op.create_table(
        "experiment_run_counts",
        sa.Column("experiment_id", BigIntId, nullable=False),
        # Runs whose lifecycle stage is active, and those of them whose status is RUNNING.
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("running", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_run_counts_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", name=op.f("pk_experiment_run_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Runs written while the table is filled would be counted twice or not at all.
        op.execute("LOCK TABLE runs IN SHARE MODE")
        op.execute(BACKFILL)
        op.execute(POSTGRES_FUNCTION)
        for name, timing in POSTGRES_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {timing} "
                "FOR EACH STATEMENT EXECUTE FUNCTION count_experiment_runs()"
            )
    else:
        op.execute(BACKFILL)
        for name, (timing, body) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {timing} BEGIN {body} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON runs")
        op.execute("DROP FUNCTION count_experiment_runs()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("experiment_run_counts")
