"""A run's dataset inputs (MLflow's `log_input`): the dataset as sent, and the input's tags.

One row per (run, dataset name, digest), as MLflow keeps one input per dataset and run; the
dataset's source, schema and profile are text as the client wrote them (JSON, usually).
"""

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class RunDatasetInput(Base):
    __tablename__ = "run_dataset_inputs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    source_type: Mapped[str] = mapped_column(String(36), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    schema: Mapped[str | None] = mapped_column(Text, default=None)
    profile: Mapped[str | None] = mapped_column(Text, default=None)
    # The input's tags (e.g. `mlflow.data.context`) as a JSON list of {key, value}.
    tags: Mapped[str] = mapped_column(Text, default="[]")
    # The `mlflow.data.context` tag's value, apart: run search filters on `datasets.context`.
    context: Mapped[str | None] = mapped_column(String(500), default=None)
    # Order of logging, so a run lists its inputs as they were logged.
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("uq_run_dataset_inputs_run_dataset", "run_id", "name", "digest", unique=True),
        # `datasets.name = …` filters find runs by dataset.
        Index("ix_run_dataset_inputs_name_digest", "name", "digest"),
    )
