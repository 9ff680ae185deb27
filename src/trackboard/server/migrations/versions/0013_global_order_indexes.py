"""runs by start time and metric summaries by key and value, across experiments

Revision ID: 0013_global_order_indexes
Revises: 0012_experiment_run_counts
Create Date: 2026-12-07 21:35:00

A search across the experiments of a project reads its first runs in the order of its
leading sort term: newest first (the default, and every sort's tie-break), or by a metric's
latest value. `ix_runs_experiment_start` and `ix_metric_summaries_experiment_key_value` give
those orders within one experiment only: over a list of experiments PostgreSQL read every
run (or every summary of the key) of the list and sorted them, linear in the runs (22 ms and
89 ms for the 10,000 runs of scale 0.01; 100 times that at the seed's scale). Walking these
indexes and skipping the rows of other experiments stops after the page, at a cost that
depends on the share of the rows the experiments hold, not on their number (0.1-0.3 ms).
With statistics the planner still takes the per-experiment indexes for one experiment, or a
few small ones (measured on the scale bench's data).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_global_order_indexes"
down_revision: str | None = "0012_experiment_run_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_runs_start_time", "runs", ["start_time"])
    op.create_index("ix_metric_summaries_key_value", "metric_summaries", ["key", "last_value"])


def downgrade() -> None:
    op.drop_index("ix_metric_summaries_key_value", table_name="metric_summaries")
    op.drop_index("ix_runs_start_time", table_name="runs")
