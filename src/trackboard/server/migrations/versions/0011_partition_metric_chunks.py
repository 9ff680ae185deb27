"""metric_chunks hash-partitioned by run on PostgreSQL

Revision ID: 0011_partition_metric_chunks
Revises: 0010_saved_views
Create Date: 2026-12-07 18:05:00

Every read and write of a series names its run (`run_id = …`), so PostgreSQL prunes to one
of the partitions; VACUUM, index builds and a future move of partitions to other nodes
work on a sixteenth of the points at a time. The primary key becomes (run_id, id): a
partitioned table's unique keys must hold its partition key; ids still come from the one
sequence, so `id` alone stays unique. The rows are copied over in the migration's
transaction (the table is locked meanwhile). SQLite keeps its single table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_partition_metric_chunks"
down_revision: str | None = "0010_saved_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITIONS = 16
COLUMNS = "id, run_id, key, min_step, max_step, point_count, data, overview"


def create_table(partitioned: bool) -> None:
    """metric_chunks as 0001 made it, or partitioned; the id sequence is the existing one."""
    key = "run_id, id" if partitioned else "id"
    op.execute(
        f"""
        CREATE TABLE metric_chunks (
            id BIGINT NOT NULL DEFAULT nextval('metric_chunks_id_seq'),
            run_id VARCHAR(32) NOT NULL,
            key VARCHAR(250) NOT NULL,
            min_step BIGINT NOT NULL,
            max_step BIGINT NOT NULL,
            point_count INTEGER NOT NULL,
            data BYTEA NOT NULL,
            overview BYTEA NOT NULL,
            CONSTRAINT pk_metric_chunks PRIMARY KEY ({key}),
            CONSTRAINT fk_metric_chunks_run_id_runs FOREIGN KEY (run_id)
                REFERENCES runs (id) ON DELETE CASCADE
        ) {"PARTITION BY HASH (run_id)" if partitioned else ""}
        """
    )
    for remainder in range(PARTITIONS if partitioned else 0):
        op.execute(
            f"CREATE TABLE metric_chunks_p{remainder:02d} PARTITION OF metric_chunks "
            f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder})"
        )
    op.execute(
        "CREATE INDEX ix_metric_chunks_run_key_step ON metric_chunks (run_id, key, min_step)"
    )


def rebuild(partitioned: bool) -> None:
    """Move the rows into a new metric_chunks, the old table's names freed first."""
    op.execute("ALTER TABLE metric_chunks RENAME TO metric_chunks_before")
    op.execute(
        "ALTER TABLE metric_chunks_before RENAME CONSTRAINT pk_metric_chunks TO pk_mc_before"
    )
    op.execute(
        "ALTER TABLE metric_chunks_before "
        "RENAME CONSTRAINT fk_metric_chunks_run_id_runs TO fk_mc_before"
    )
    op.execute("ALTER INDEX ix_metric_chunks_run_key_step RENAME TO ix_mc_before")
    create_table(partitioned)
    op.execute(f"INSERT INTO metric_chunks ({COLUMNS}) SELECT {COLUMNS} FROM metric_chunks_before")
    # The sequence belonged to the old table's column: dropping that table would drop it.
    op.execute("ALTER SEQUENCE metric_chunks_id_seq OWNED BY metric_chunks.id")
    op.execute("DROP TABLE metric_chunks_before")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rebuild(partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rebuild(partitioned=False)
