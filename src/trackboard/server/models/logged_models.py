"""MLflow 3's logged models: a model's identity, params, tags and metrics, and its runs.

A logged model belongs to an experiment; its files live under the experiment's artifact
location, `<location>/models/<model id>/artifacts`. `source_run_id` is the run that made
it (not a foreign key, as in MLflow: a model outlives a deleted run); `RunModelLink` holds
the run↔model edges that `runs/outputs` and `runs/log-inputs` record.
"""

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class LoggedModel(Base):
    __tablename__ = "logged_models"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    artifact_location: Mapped[str] = mapped_column(String(1000))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)
    model_type: Mapped[str | None] = mapped_column(String(500), default=None)
    # MLflow's enum name: LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED.
    status: Mapped[str] = mapped_column(String(40))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="active")
    source_run_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)

    __table_args__ = (
        Index("ix_logged_models_experiment_created", "experiment_id", "creation_time"),
    )


class LoggedModelParam(Base):
    __tablename__ = "logged_model_params"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(6000))


class LoggedModelTag(Base):
    __tablename__ = "logged_model_tags"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(8000))


class LoggedModelMetric(Base):
    """A metric point logged with `model_id`: also a point of its run's series, kept here
    with the run and dataset it was measured on, as MLflow returns it with the model."""

    __tablename__ = "logged_model_metrics"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(
        ForeignKey("logged_models.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(250))
    # NULL for NaN: SQLite stores a NaN as NULL anyway; both stores read it back the same.
    value: Mapped[float | None] = mapped_column(Float)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(String(32), default=None)
    dataset_name: Mapped[str | None] = mapped_column(String(500), default=None)
    dataset_digest: Mapped[str | None] = mapped_column(String(36), default=None)


class RunModelLink(Base):
    """A run's model output (`runs/outputs`, with the step) or model input (`log-inputs`)."""

    __tablename__ = "run_model_links"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "output" or "input".
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
