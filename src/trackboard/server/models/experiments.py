"""Experiments and their tags."""

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trackboard.server.models.base import Base, BigIntId


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="active")
    artifact_location: Mapped[str | None] = mapped_column(String(1000), default=None)
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)
    # When the experiment was deleted (ms), NULL while active: `trackboard gc` purges by it.
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The owning project when authentication is on; NULL in the open single-user mode.
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None, index=True
    )

    tags: Mapped[list["ExperimentTag"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # A name is unique among active experiments only, so a deleted one frees its name.
        Index(
            "uq_experiments_active_name",
            "name",
            unique=True,
            sqlite_where=text("lifecycle_stage = 'active'"),
            postgresql_where=text("lifecycle_stage = 'active'"),
        ),
    )


class ExperimentTag(Base):
    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(5000))
