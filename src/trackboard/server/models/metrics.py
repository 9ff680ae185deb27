"""Metric series stored as compressed chunks, a per-key summary, and applied batch ids.

One row per point would cost ~137 bytes a point on PostgreSQL; a chunk of up to a few
thousand points packed by `metrics.chunk_codec` costs ~10, and its min/max let
downsampled reads skip decoding where they can.
"""

from sqlalchemy import BigInteger, Double, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class MetricChunk(Base):
    """Points of one series in step order, encoded (chunk_codec).

    On PostgreSQL the table is hash-partitioned by `run_id` into 16 (migration 0011), with
    the primary key (run_id, id): statements name the run so that one partition is read.
    SQLite keeps one table keyed by `id`, as declared here.
    """

    __tablename__ = "metric_chunks"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    min_step: Mapped[int] = mapped_column(BigInteger)
    max_step: Mapped[int] = mapped_column(BigInteger)
    point_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # The chunk's extremes per 64 points (see downsample.overview): a chart of a long
    # series reads these few hundred bytes instead of the whole chunk.
    overview: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_metric_chunks_run_key_step", "run_id", "key", "min_step"),)


class MetricSummary(Base):
    """Latest, min, max and count of one key of one run, kept current on every write.

    NaN is stored as NULL (SQLite has no NaN); `experiment_id` is copied here so that
    "latest value of K across an experiment's runs" is one index range scan.
    """

    __tablename__ = "metric_summaries"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float | None] = mapped_column(Double)
    last_step: Mapped[int] = mapped_column(BigInteger)
    last_timestamp: Mapped[int] = mapped_column(BigInteger)
    min_value: Mapped[float | None] = mapped_column(Double)
    max_value: Mapped[float | None] = mapped_column(Double)
    count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_metric_summaries_experiment_key_value", "experiment_id", "key", "last_value"),
        # Best runs by a metric across the experiments of a project (migration 0013).
        Index("ix_metric_summaries_key_value", "key", "last_value"),
    )


class AppliedBatch(Base):
    """Batch ids already stored, written in the batch's own transaction (exactly-once effect)."""

    __tablename__ = "applied_batches"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[int] = mapped_column(BigInteger)
